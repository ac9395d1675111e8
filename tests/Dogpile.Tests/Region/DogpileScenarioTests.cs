using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>dogpile.cache's own scenarios run against the public API, as a new user would: invalidation, multi-key order, one read per election.</summary>
public sealed class DogpileScenarioTests
{
    [Theory]
    [InlineData(InvalidationMode.Hard)]
    [InlineData(InvalidationMode.Soft)]
    public async Task Invalidate_SecondInvalidationOnAClockThatHasNotMoved_CoversTheValueCreatedAfterTheFirst(InvalidationMode mode)
    {
        await using var t = new TestRegion();
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v1")));
        await t.Region.InvalidateAsync(mode);
        await t.Region.SetAsync("k", "v2");
        Assert.Equal("v2", (await t.Region.GetAsync<string>("k")).Value);

        // Same tick: the second invalidation must still cover v2 ("every value created until now").
        await t.Region.InvalidateAsync(mode);

        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        CacheItem<string>? item = await t.Region.GetItemAsync<string>("k");
        if (mode == InvalidationMode.Hard)
        {
            Assert.Null(item);
        }
        else
        {
            Assert.True(item!.Value.IsStale);
        }
    }

    [Fact]
    public async Task Invalidate_ClockSteppedBack_StillCoversEveryValueAlreadyCreated()
    {
        var time = new SteppedClock(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "ntp", Backend = new MemoryCacheBackend(100, time) }, time);
        await region.SetAsync("a", "1");
        await region.InvalidateAsync();
        await region.SetAsync("b", "2");

        // NTP steps the wall clock back a minute: the next invalidation still covers "b".
        time.Now = time.Now.AddMinutes(-1);
        await region.InvalidateAsync();

        Assert.False((await region.GetAsync<string>("b")).HasValue);
        await region.SetAsync("c", "3");
        Assert.Equal("3", (await region.GetAsync<string>("c")).Value);
    }

    [Fact]
    public async Task IsLocked_TrueWhileACreationRuns_FalseBeforeAndAfter()
    {
        await using var t = new TestRegion();
        var creator = new ControlledCreator<string>(_ => "v");
        creator.Hold();
        Assert.False(await t.Region.IsLockedAsync("k"));

        Task<string> creation = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;
        Assert.True(await t.Region.IsLockedAsync("k"));
        Assert.False(await t.Region.IsLockedAsync("other"));

        creator.Release();
        Assert.Equal("v", await creation);
        Assert.False(await t.Region.IsLockedAsync("k"));
    }

    [Fact]
    public async Task ClockSteppedBackBehindAnInvalidation_ValuesStampedAfterTheMark_AreNotMistakenForFutureStamps()
    {
        // A value created after a mark is stamped after it, even when the clock is behind the mark: that is a truthful
        // stamp, not a fast writer's, and must stay fresh (else every read would regenerate it).
        var time = new SteppedClock(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "ntp", Backend = new BytesMemoryBackend(time) }, time);
        await region.InvalidateAsync();
        time.Now = time.Now.AddMinutes(-1);
        int calls = 0;

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("v", await region.GetOrCreateAsync("k", _ => { calls++; return new ValueTask<string>("v"); }));
        }

        Assert.Equal(1, calls);
    }

    /// <summary>A wall clock that can be stepped back, as NTP does (FakeTimeProvider refuses to).</summary>
    private sealed class SteppedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task GetOrCreateMany_WithKeyMangler_CreatorGetsTheCallersKeysInOrdinalOrder()
    {
        await using var t = new TestRegion(o => o.KeyMangler = KeyManglers.Sha256);
        var asked = new List<IReadOnlyList<string>>();
        string[] keys = ["delta", "alpha", "charlie", "bravo", "echo"];

        string[] values = await t.Region.GetOrCreateManyAsync<string>(keys, (missing, _) =>
        {
            asked.Add(missing);
            return new ValueTask<IReadOnlyList<string>>(missing.Select(k => "v-" + k).ToArray());
        });

        Assert.Equal(["alpha", "bravo", "charlie", "delta", "echo"], Assert.Single(asked));
        Assert.Equal(keys.Select(k => "v-" + k), values);
        Assert.Equal("v-charlie", (await t.Region.GetAsync<string>("charlie")).Value);
    }

    [Fact]
    public async Task StaleElection_LockReadsTheValueWithTheLock_ElectedCallerReadsTheBackendOnce()
    {
        var store = new MemoryCacheBackend(100, TimeProvider.System);
        var backend = new ChaosBackend(store);
        var provider = new ReadingLockProvider(store);
        await using var t = new TestRegion(o => { o.LockProvider = provider; o.BackgroundRefresh = true; }, backend);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        int readsBefore = backend.Reads;

        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("new")));

        // One read to find the value stale; the try-lock brought the entry along, so no second read.
        Assert.Equal(1, backend.Reads - readsBefore);
        Assert.Equal(1, provider.TryAcquires);
    }

    [Fact]
    public async Task StaleElection_ValueRefreshedJustBeforeTheLock_IsNotRegeneratedAgain()
    {
        // The guarantee the re-read exists for: the entry read with the lock is already fresh, so no regeneration.
        var store = new MemoryCacheBackend(100, TimeProvider.System);
        var backend = new ChaosBackend(store);
        var provider = new ReadingLockProvider(store);
        await using var t = new TestRegion(o => { o.LockProvider = provider; o.BackgroundRefresh = false; }, backend);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        provider.BeforeTryAcquire = () => t.Region.SetAsync("k", "refreshed-elsewhere");

        Assert.Equal("old", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not regenerate")));
        Assert.Equal("refreshed-elsewhere", (await t.Region.GetAsync<string>("k")).Value);
    }

    /// <summary>A lock provider that, like Redis's lock script, reads the key's entry in the same step as the try-lock.</summary>
    private sealed class ReadingLockProvider(ICacheBackend backend) : ICacheLockProvider
    {
        public int TryAcquires;

        public Func<ValueTask>? BeforeTryAcquire { get; set; }

        public bool ReadsFrom(ICacheBackend other) => true;

        public async ValueTask<ICacheLock?> TryAcquireAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref TryAcquires);
            if (BeforeTryAcquire is { } before)
            {
                await before();
            }

            // The store under the region's counting wrapper: this stands for the lock script's own read.
            CacheEntry? entry = await backend.GetAsync(key, cancellationToken);
            return new Lock(key, entry);
        }

        public ValueTask<ICacheLock?> AcquireAsync(string key, TimeSpan timeout, Func<CacheEntry?, CancellationToken, ValueTask<bool>>? valueProduced, CancellationToken cancellationToken)
            => new(new Lock(key, null));

        private sealed class Lock(string key, CacheEntry? entry) : ICacheLock
        {
            public string Key => key;

            public string OwnerToken => "token";

            public long FencingToken => 1;

            public ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken) => new(true);

            public ValueTask ReleaseAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;

            public bool TryGetEntryReadWithLock(out CacheEntry? read)
            {
                read = entry;
                return true;
            }
        }
    }
}
