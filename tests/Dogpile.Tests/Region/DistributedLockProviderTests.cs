using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>How the region drives a cross-process lock provider: election by try-lock, waiting by acquire, fenced writes.</summary>
public sealed class DistributedLockProviderTests
{
    [Fact]
    public async Task Missing_LocalLeaderTakesDistributedLockOnce_AndReleasesIt()
    {
        var provider = new RecordingLockProvider();
        await using var t = new TestRegion(o => o.LockProvider = provider);
        var creator = new ControlledCreator<string>(_ => "v");
        creator.Hold();

        Task<string>[] callers = Enumerable.Range(0, 50).Select(_ => t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask()).ToArray();
        await creator.Started.Task;
        creator.Release();
        await Task.WhenAll(callers);

        Assert.Equal(1, provider.Acquires);
        Assert.Equal(1, provider.Releases);
        Assert.Equal(0, provider.Held);
    }

    [Fact]
    public async Task Stale_DistributedLockHeldElsewhere_ServesStaleWithoutCreating()
    {
        var provider = new RecordingLockProvider { HeldElsewhere = true };
        await using var t = new TestRegion(o => o.LockProvider = provider);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal("old", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")));
        Assert.Equal(1, provider.TryAcquires);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stale_TryLockThrows_ServesStaleAndBacksOffInsteadOfFailing(bool backgroundRefresh)
    {
        // The lock's store is down (Redis unreachable): a refresh that cannot lock is not started, the stale value is served.
        var provider = new RecordingLockProvider { TryAcquireThrows = new InvalidOperationException("lock store unreachable") };
        await using var t = new TestRegion(
            o =>
            {
                o.LockProvider = provider;
                o.BackgroundRefresh = backgroundRefresh;
                o.RefreshFailureBackoff = TimeSpan.FromSeconds(5);
            });
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));

        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("old", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")));
        }

        // The key backed off after the first failed try-lock: the callers behind it served stale without trying again.
        Assert.Equal(1, provider.TryAcquires);
        CacheItem<string> item = await t.Region.GetOrCreateItemAsync<int, string>("k", 0, (_, _) => throw new InvalidOperationException("must not run"));
        Assert.Equal(CacheItemSource.Stale, item.Source);

        t.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("old", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")));
        Assert.Equal(2, provider.TryAcquires);
    }

    [Fact]
    public async Task FencedBackend_WriteGoesThroughSetAndRelease_SupersededWriteIsReported()
    {
        var provider = new RecordingLockProvider();
        var fenced = new FencedBackend(new MemoryCacheBackend(100, TimeProvider.System)) { RejectWrites = true };
        await using var t = new TestRegion(o => o.LockProvider = provider, fenced);

        Assert.Equal("late", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("late")));

        Assert.Equal(1, fenced.FencedWrites);
        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        // SetAndRelease released the lock; the region must not release it a second time.
        Assert.Equal(0, provider.Releases);
    }

    [Fact]
    public async Task Missing_ValueProducedByAnotherProcessWhileWaiting_IsReadWithoutTakingTheLock()
    {
        TestRegion? region = null;
        var provider = new RecordingLockProvider
        {
            // Another process wins the lock, writes the value and releases: this waiter wakes with the value there.
            WhileWaiting = () => region!.Region.SetAsync("k", "from elsewhere"),
        };
        await using var t = region = new TestRegion(o => o.LockProvider = provider);

        Task<string>[] callers = Enumerable.Range(0, 20)
            .Select(_ => t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")).AsTask())
            .ToArray();

        Assert.All(await Task.WhenAll(callers), v => Assert.Equal("from elsewhere", v));
        Assert.Equal(1, provider.ValueChecks);
        Assert.Equal(0, provider.Acquires);
        Assert.Equal(0, provider.Held);
    }

    [Fact]
    public async Task Missing_WakeCarriesTheWrittenEntry_ServedWithoutReadingIt()
    {
        TestRegion? region = null;
        var provider = new RecordingLockProvider
        {
            WhileWaiting = () => ValueTask.CompletedTask,
            // Written by another process (its write is not in this test's backend): only the wake-up carries it.
            Carried = () => new CacheEntry("carried", region!.Time.GetUtcNow().UtcTicks, TimeSpan.FromMinutes(1), TimeSpan.Zero),
        };
        await using var t = region = new TestRegion(o => o.LockProvider = provider);

        Assert.Equal("carried", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")));
        Assert.Equal(0, provider.Acquires);
    }

    [Fact]
    public async Task Missing_WakeCarriesAnEntryOlderThanAHardInvalidation_TakesTheLockAndCreates()
    {
        TestRegion? region = null;
        long writtenAt = 0;
        var provider = new RecordingLockProvider
        {
            WhileWaiting = () => ValueTask.CompletedTask,
            Carried = () => new CacheEntry("before the invalidation", writtenAt, TimeSpan.FromMinutes(1), TimeSpan.Zero),
        };
        await using var t = region = new TestRegion(o => o.LockProvider = provider);
        writtenAt = t.Time.GetUtcNow().UtcTicks;
        t.Time.Advance(TimeSpan.FromSeconds(1));
        await t.Region.InvalidateAsync(InvalidationMode.Hard);
        t.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("created", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));
        Assert.Equal(1, provider.Acquires);
    }

    [Fact]
    public async Task Missing_TheLockReadTheEntryAsItWasTaken_NoSeparateRereadAndNoCreator()
    {
        TestRegion? region = null;
        var backend = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        var provider = new RecordingLockProvider
        {
            // Another process wrote it between this caller's read and its acquisition; only the lock's read saw it.
            ReadWithLock = () => new CacheEntry("written meanwhile", region!.Time.GetUtcNow().UtcTicks, TimeSpan.FromMinutes(1), TimeSpan.Zero),
        };
        await using var t = region = new TestRegion(o => o.LockProvider = provider, backend);

        Assert.Equal("written meanwhile", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")));
        Assert.Equal(1, backend.Reads);
        Assert.Equal(1, provider.Releases);
    }

    [Fact]
    public async Task Missing_ALockOnOtherStorage_ItsEntriesAreIgnored_TheRegionReadsItsBackend()
    {
        TestRegion? region = null;
        var backend = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        CacheEntry Foreign() => new("from the lock's own storage", region!.Time.GetUtcNow().UtcTicks, TimeSpan.FromMinutes(1), TimeSpan.Zero);
        var provider = new RecordingLockProvider
        {
            WhileWaiting = () => ValueTask.CompletedTask,
            Carried = Foreign,
            ReadWithLock = Foreign,
            ReadsFromBackend = false,
        };
        await using var t = region = new TestRegion(o => o.LockProvider = provider, backend);

        Assert.Equal("created", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));
        Assert.Equal(3, backend.Reads); // the first read, the read after the wake, the re-read under the lock
    }

    [Fact]
    public async Task Missing_TheLockReadNoEntry_CreatesWithoutASeparateReread()
    {
        var backend = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        var provider = new RecordingLockProvider { ReadWithLock = () => null };
        await using var t = new TestRegion(o => o.LockProvider = provider, backend);

        Assert.Equal("created", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));
        Assert.Equal(1, backend.Reads);
    }

    [Fact]
    public async Task Missing_ValueStillMissingAfterWake_TakesTheLockAndCreates()
    {
        var provider = new RecordingLockProvider { WhileWaiting = () => ValueTask.CompletedTask };
        await using var t = new TestRegion(o => o.LockProvider = provider);

        Assert.Equal("created", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));

        Assert.Equal(1, provider.ValueChecks);
        Assert.Equal(1, provider.Acquires);
        Assert.Equal(1, provider.Releases);
    }

    [Fact]
    public async Task LockProviderTimeout_ReachesEveryWaiterAsLockTimeout()
    {
        var provider = new RecordingLockProvider { AcquireThrows = new CacheLockTimeoutException("k", TimeSpan.FromSeconds(1)) };
        await using var t = new TestRegion(o => o.LockProvider = provider);

        await Assert.ThrowsAsync<CacheLockTimeoutException>(async () => await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v")));
    }

    private sealed class RecordingLockProvider : ICacheLockProvider
    {
        public int Acquires;
        public int TryAcquires;
        public int Releases;
        public int Held;
        public int ValueChecks;

        /// <summary>When set, the acquire first "waits" (runs this), then asks the region whether the value now exists.</summary>
        public Func<ValueTask>? WhileWaiting { get; init; }

        public bool HeldElsewhere { get; init; }

        /// <summary>The entry the "releasing process" wrote, handed to the waiter with the wake-up (as Redis's release notice does).</summary>
        public Func<CacheEntry?> Carried { get; init; } = () => null;

        /// <summary>When set, the lock reports this as the entry it read in the same step as the acquisition.</summary>
        public Func<CacheEntry?>? ReadWithLock { get; init; }

        /// <summary>Whether the entries it hands over are the region's backend's (false: a lock on other storage).</summary>
        public bool ReadsFromBackend { get; init; } = true;

        public bool ReadsFrom(ICacheBackend backend) => ReadsFromBackend;

        public Exception? AcquireThrows { get; init; }

        public Exception? TryAcquireThrows { get; init; }

        public ValueTask<ICacheLock?> TryAcquireAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref TryAcquires);
            if (TryAcquireThrows is { } ex)
            {
                return ValueTask.FromException<ICacheLock?>(ex);
            }

            return new(HeldElsewhere ? null : Take(key));
        }

        public async ValueTask<ICacheLock?> AcquireAsync(string key, TimeSpan timeout, Func<CacheEntry?, CancellationToken, ValueTask<bool>>? valueProduced, CancellationToken cancellationToken)
        {
            if (AcquireThrows is { } ex)
            {
                throw ex;
            }

            if (WhileWaiting is { } wait && valueProduced is not null)
            {
                await wait();
                Interlocked.Increment(ref ValueChecks);
                if (await valueProduced(Carried(), cancellationToken))
                {
                    return null;
                }
            }

            Interlocked.Increment(ref Acquires);
            return Take(key);
        }

        private Lock Take(string key)
        {
            Interlocked.Increment(ref Held);
            return new Lock(this, key);
        }

        private sealed class Lock(RecordingLockProvider owner, string key) : ICacheLock
        {
            private int _released;

            public string Key => key;

            public string OwnerToken => "token";

            public long FencingToken => 7;

            public ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken) => new(_released == 0);

            public ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    Interlocked.Increment(ref owner.Releases);
                    Interlocked.Decrement(ref owner.Held);
                }

                return ValueTask.CompletedTask;
            }

            public ValueTask DisposeAsync() => ReleaseAsync();

            public bool TryGetEntryReadWithLock(out CacheEntry? entry)
            {
                entry = owner.ReadWithLock?.Invoke();
                return owner.ReadWithLock is not null;
            }
        }
    }

    private sealed class FencedBackend(ICacheBackend inner) : IFencedCacheBackend
    {
        public int FencedWrites;

        public bool RejectWrites { get; init; }

        public bool StoresObjects => inner.StoresObjects;

        public int MaxKeyLength => inner.MaxKeyLength;

        public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.GetManyAsync(keys, cancellationToken);

        public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken) => inner.SetAsync(key, entry, timeToLive, cancellationToken);

        public ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken) => inner.SetManyAsync(entries, cancellationToken);

        public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);

        public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.RemoveManyAsync(keys, cancellationToken);

        public async ValueTask<bool> SetAndReleaseAsync(string key, CacheEntry entry, TimeSpan? timeToLive, ICacheLock heldLock, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref FencedWrites);
            if (!RejectWrites)
            {
                await inner.SetAsync(key, entry, timeToLive, cancellationToken);
            }

            return !RejectWrites;
        }
    }
}
