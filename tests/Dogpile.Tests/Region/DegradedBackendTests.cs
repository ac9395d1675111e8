using System.Diagnostics.Metrics;
using Dogpile.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Region;

/// <summary>
/// A shared backend, lock or invalidation store that is unavailable (CacheBackendUnavailableException): under the
/// default Degrade policy the region serves around it, one creator per key in this process; under Throw it fails fast.
/// </summary>
public sealed class DegradedBackendTests
{
    private static (CacheRegion Region, ChaosBackend Backend) NewRegion(Action<CacheRegionOptions>? configure = null, Action<ChaosBackend>? backend = null)
    {
        var chaos = new ChaosBackend(new BytesMemoryBackend(TimeProvider.System));
        backend?.Invoke(chaos);
        var options = new CacheRegionOptions { Name = "degraded", Backend = chaos, Expiration = TimeSpan.FromMinutes(5) };
        configure?.Invoke(options);
        return (new CacheRegion(options), chaos);
    }

    [Fact]
    public async Task ColdKey_BackendUnavailable_ConcurrentCallersShareOneCreation_AndGetItDegraded()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.Unavailable = true;
        int creations = 0;
        var release = new TaskCompletionSource();

        Task<CacheItem<string>>[] callers = Enumerable.Range(0, 50)
            .Select(_ => region.GetOrCreateItemAsync("cold", 0, async (_, _) =>
            {
                Interlocked.Increment(ref creations);
                await release.Task;
                return "created";
            }).AsTask())
            .ToArray();
        release.SetResult();
        CacheItem<string>[] items = await Task.WhenAll(callers);

        Assert.Equal(1, creations);
        Assert.All(items, item => Assert.Equal("created", item.Value));
        Assert.All(items, item => Assert.True(item.Degraded));
        CacheRegionStatistics stats = region.GetStatistics();
        Assert.Equal(50, stats.DegradedServed);
        Assert.True(stats.BackendReadFailures >= 1);
        Assert.Equal(1, stats.BackendWriteFailures);
    }

    [Fact]
    public async Task ColdKey_BackendUnavailable_LaterCallsGetTheHeldValue_CreatorNotCalledAgain()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.Unavailable = true;
        int creations = 0;
        ValueTask<string> Create(CancellationToken _)
        {
            Interlocked.Increment(ref creations);
            return ValueTask.FromResult("v" + creations);
        }

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("v1", await region.GetOrCreateAsync("k", Create));
        }

        Assert.Equal(1, creations);
        // The write was tried once, for the one creation: dropped, never retried.
        Assert.Equal(1, backend.Writes);
        Assert.True((await region.GetOrCreateItemAsync("k", 0, (_, ct) => Create(ct))).Degraded);
    }

    [Fact]
    public async Task BackendBack_ItsOwnValueWinsOverTheOneHeldDuringTheOutage()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.Unavailable = true;
        Assert.Equal("outage", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("outage")));

        backend.Unavailable = false;
        await using (var writer = new CacheRegion(new CacheRegionOptions { Name = "degraded", Backend = backend }))
        {
            await writer.SetAsync("k", "shared");
        }

        CacheItem<string> item = await region.GetOrCreateItemAsync("k", 0, (_, _) => ValueTask.FromResult("recreated"));
        Assert.Equal("shared", item.Value);
        Assert.False(item.Degraded);
    }

    [Fact]
    public async Task ThrowPolicy_BackendUnavailable_ColdKeyThrows_CreatorNotCalled()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion(o => o.BackendFailurePolicy = CacheBackendFailurePolicy.Throw);
        await using CacheRegion owned = region;
        backend.Unavailable = true;
        int creations = 0;

        await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await region.GetOrCreateAsync("k", _ =>
        {
            creations++;
            return ValueTask.FromResult("v");
        }));
        await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await region.GetAsync<string>("k"));
        await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await region.SetAsync("k", "v"));
        Assert.Equal(0, creations);
    }

    [Fact]
    public async Task BackendPolicy_AppliesWhenTheRegionSetsNone_TheRegionsWins()
    {
        (CacheRegion throws, ChaosBackend down) = NewRegion(backend: b => b.FailurePolicy = CacheBackendFailurePolicy.Throw);
        await using CacheRegion owned = throws;
        down.Unavailable = true;
        await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await throws.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));

        await using var degrades = new CacheRegion(new CacheRegionOptions { Name = "wins", Backend = down, BackendFailurePolicy = CacheBackendFailurePolicy.Degrade });
        Assert.Equal("v", await degrades.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
    }

    [Fact]
    public async Task OtherBackendFailures_AreNotDegraded_TheyStillThrow()
    {
        // Only "unavailable" is served around: a backend that fails otherwise (a bug, a corrupt reply) is not hidden.
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.FailReads = true;
        await Assert.ThrowsAsync<IOException>(async () => await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
    }

    [Fact]
    public async Task GetAsync_BackendUnavailable_IsADegradedMiss()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.Unavailable = true;

        CacheResult<string> result = await region.GetAsync<string>("k");

        Assert.False(result.HasValue);
        Assert.True(result.Degraded);
        Assert.Null(await region.GetItemAsync<string>("k"));
    }

    [Fact]
    public async Task SetAndRemove_BackendUnavailable_AreDroppedAndCounted_SetValueServedHere()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.Unavailable = true;

        await region.SetAsync("k", "set");
        Assert.Equal("set", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        Assert.False(await region.RemoveAsync("k"));
        await region.SetManyAsync([new KeyValuePair<string, string>("a", "1"), new KeyValuePair<string, string>("b", "2")]);
        await region.RemoveManyAsync(["a"]);

        CacheRegionStatistics stats = region.GetStatistics();
        Assert.Equal(4, stats.BackendWriteFailures);
        Assert.Equal(1, backend.Removes);
    }

    [Fact]
    public async Task DistributedLockUnavailable_InProcessLockAlone_OneCreatorPerKey()
    {
        var locks = new UnavailableLockProvider();
        (CacheRegion region, _) = NewRegion(o => o.LockProvider = locks);
        await using CacheRegion owned = region;
        int creations = 0;
        var release = new TaskCompletionSource();

        Task<CacheItem<int>>[] callers = Enumerable.Range(0, 20)
            .Select(_ => region.GetOrCreateItemAsync("k", 0, async (_, _) =>
            {
                Interlocked.Increment(ref creations);
                await release.Task;
                return 42;
            }).AsTask())
            .ToArray();
        release.SetResult();
        CacheItem<int>[] items = await Task.WhenAll(callers);

        Assert.Equal(1, creations);
        Assert.All(items, item => Assert.Equal(42, item.Value));
        Assert.All(items, item => Assert.True(item.Degraded));
        Assert.True(region.GetStatistics().BackendLockFailures >= 1);

        // The write went to the (working) backend: the next call is a plain hit.
        Assert.False((await region.GetOrCreateItemAsync("k", 0, (_, _) => ValueTask.FromResult(0))).Degraded);
    }

    [Fact]
    public async Task StaleKey_LockUnavailable_StaleValueServed_NoUncoordinatedRefresh()
    {
        // A stale value in hand is served (stale-if-error) rather than refreshed without the cross-process lock; the key
        // backs off. Only a key with nothing to serve is created under the in-process lock alone.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var locks = new UnavailableLockProvider { Down = false };
        var backend = new ChaosBackend(new BytesMemoryBackend(time));
        await using var region = new CacheRegion(
            new CacheRegionOptions { Name = "stale", Backend = backend, Expiration = TimeSpan.FromSeconds(10), LockProvider = locks },
            time);
        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(1)));
        time.Advance(TimeSpan.FromSeconds(11));
        locks.Down = true;

        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(2)));
        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(3)));
    }

    [Fact]
    public async Task InvalidationStoreUnavailable_InvalidateKeepsTheLocalMarks_DoesNotThrow()
    {
        (CacheRegion region, _) = NewRegion(o => o.InvalidationStore = new UnavailableInvalidationStore());
        await using CacheRegion owned = region;
        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(1)));

        await region.InvalidateAsync();

        Assert.Equal(2, await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(2)));
        Assert.Equal(1, region.GetStatistics().BackendInvalidationFailures);
    }

    [Fact]
    public async Task InvalidationStoreUnavailable_ThrowPolicy_InvalidateThrows()
    {
        (CacheRegion region, _) = NewRegion(o =>
        {
            o.InvalidationStore = new UnavailableInvalidationStore();
            o.BackendFailurePolicy = CacheBackendFailurePolicy.Throw;
        });
        await using CacheRegion owned = region;
        await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await region.InvalidateAsync());
    }

    [Fact]
    public async Task QueueUnreachable_BackgroundRefreshFallsBackToTheInProcessRunner()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var backend = new ChaosBackend(new BytesMemoryBackend(time));
        await using var region = new CacheRegion(
            new CacheRegionOptions
            {
                Name = "queue-down",
                Backend = backend,
                Expiration = TimeSpan.FromSeconds(10),
                BackgroundRefresh = true,
                EarlyRefreshRatio = 0,
                RefreshRunner = new UnreachableRunner(),
            },
            time);
        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(1)));
        time.Advance(TimeSpan.FromSeconds(11));
        var refreshed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        Assert.Equal(1, await region.GetOrCreateAsync("k", _ =>
        {
            refreshed.TrySetResult(2);
            return ValueTask.FromResult(2);
        }));

        Assert.Equal(2, await refreshed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await Eventually.TrueAsync(async () => await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(3)) == 2, "the refreshed value is served");
        Assert.Equal(1, region.GetStatistics().RefreshFallbacks);
    }

    [Fact]
    public async Task MultiKey_BackendUnavailable_CreatorRunsForTheMissingKeys_ValuesHeld()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion();
        await using CacheRegion owned = region;
        backend.Unavailable = true;
        int calls = 0;
        ValueTask<IReadOnlyList<string>> CreateMany(IReadOnlyList<string> keys, CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult<IReadOnlyList<string>>(keys.Select(k => "v-" + k).ToArray());
        }

        Assert.Equal(["v-a", "v-b"], await region.GetOrCreateManyAsync(["a", "b"], CreateMany));
        Assert.Equal(["v-a", "v-b"], await region.GetOrCreateManyAsync(["a", "b"], CreateMany));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task BackendFailures_ArePublishedByOperation()
    {
        (CacheRegion region, ChaosBackend backend) = NewRegion(o => o.Name = "metered-" + Guid.NewGuid().ToString("N"));
        await using CacheRegion owned = region;
        backend.Unavailable = true;
        await region.GetOrCreateAsync("k", _ => ValueTask.FromResult(1));

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Dogpile" && instrument.Name is "dogpile.backend.failures" or "dogpile.degraded_served")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? regionName = null;
            string operation = "";
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "region")
                {
                    regionName = (string?)tag.Value;
                }
                else if (tag.Key == "operation")
                {
                    operation = (string)tag.Value!;
                }
            }

            if (regionName == region.Name)
            {
                lock (seen)
                {
                    seen[instrument.Name + "/" + operation] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.True(seen["dogpile.backend.failures/read"] >= 1);
        Assert.Equal(1, seen["dogpile.backend.failures/write"]);
        Assert.Equal(1, seen["dogpile.degraded_served/"]);
    }

    private sealed class UnavailableLockProvider : ICacheLockProvider
    {
        public bool Down { get; set; } = true;

        public ValueTask<ICacheLock?> TryAcquireAsync(string key, CancellationToken cancellationToken)
            => Down ? ValueTask.FromException<ICacheLock?>(Unavailable()) : new(new NoLock(key));

        public ValueTask<ICacheLock?> AcquireAsync(string key, TimeSpan timeout, Func<CacheEntry?, CancellationToken, ValueTask<bool>>? valueProduced, CancellationToken cancellationToken)
            => TryAcquireAsync(key, cancellationToken);

        private static CacheBackendUnavailableException Unavailable() => new("lock store down", CacheBackendFailure.BreakerOpen, TimeSpan.Zero);
    }

    private sealed class NoLock(string key) : ICacheLock
    {
        public string Key => key;

        public string OwnerToken => "t";

        public long FencingToken => 0;

        public ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken) => new(true);

        public ValueTask ReleaseAsync(CancellationToken cancellationToken = default) => default;

        public ValueTask DisposeAsync() => default;
    }

    private sealed class UnavailableInvalidationStore : IInvalidationStore
    {
        public ValueTask PublishAsync(string regionName, RegionInvalidation invalidation, CancellationToken cancellationToken)
            => ValueTask.FromException(new CacheBackendUnavailableException("invalidation store down", CacheBackendFailure.TimedOut, TimeSpan.FromMilliseconds(5)));

        public IDisposable Subscribe(string regionName, Action<RegionInvalidation> onChanged) => new Nothing();

        private sealed class Nothing : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }

    private sealed class UnreachableRunner : IRefreshRunner
    {
        public ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken)
            => ValueTask.FromException<bool>(new CacheBackendUnavailableException("queue down", CacheBackendFailure.NotConnected, TimeSpan.Zero));
    }
}
