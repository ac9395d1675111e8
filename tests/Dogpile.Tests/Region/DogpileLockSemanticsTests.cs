using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>Python dogpile.cache's Lock rules, one at a time.</summary>
public sealed class DogpileLockSemanticsTests
{
    [Fact]
    public async Task GetOrCreate_Missing_CallsCreatorOnceAndStoresValue()
    {
        await using var t = new TestRegion(o => o.CountHits = true);
        var creator = new ControlledCreator<string>(n => $"v{n}");

        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));

        Assert.Equal(1, creator.Calls);
        CacheRegionStatistics stats = t.Region.GetStatistics();
        Assert.Equal(1, stats.Misses);
        Assert.Equal(1, stats.Hits);
        Assert.Equal(1, stats.Creations);
    }

    [Fact]
    public async Task GetOrCreate_Fresh_ReturnsSynchronouslyWithoutTouchingLocks()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "cached");

        ValueTask<string> hit = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("creator must not run"));

        Assert.True(hit.IsCompletedSuccessfully);
        Assert.Equal("cached", hit.Result);
    }

    [Fact]
    public async Task GetOrCreate_FreshHit_AllocatesNothing()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "cached");
        Func<string, CancellationToken, ValueTask<string>> creator = static (s, _) => new ValueTask<string>(s);
        for (int i = 0; i < 100; i++)
        {
            _ = t.Region.GetOrCreateAsync("k", "unused", creator).Result;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            _ = t.Region.GetOrCreateAsync("k", "unused", creator).Result;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task GetOrCreate_FreshHitWithEarlyRefreshConfigured_StillSynchronousAndAllocatesNothing()
    {
        await using var t = new TestRegion(o => o.EarlyRefreshRatio = 0.9);
        await t.Region.SetAsync("k", "cached");
        Func<string, CancellationToken, ValueTask<string>> creator = static (s, _) => new ValueTask<string>(s);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(t.Region.GetOrCreateAsync("k", "unused", creator).IsCompletedSuccessfully);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            _ = t.Region.GetOrCreateAsync("k", "unused", creator).Result;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task GetOrCreate_ThousandGatedCallersOnColdKey_OneCreatorCallAndSameValueEverywhere()
    {
        await using var t = new TestRegion();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<object> Create(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await Task.Yield();
            return new object();
        }

        Task<object>[] callers = Enumerable.Range(0, 1000)
            .Select(_ => Task.Run(async () =>
            {
                await gate.Task;
                return await t.Region.GetOrCreateAsync("cold", Create);
            }))
            .ToArray();
        gate.SetResult();
        object[] values = await Task.WhenAll(callers);

        Assert.Equal(1, calls);
        Assert.All(values, v => Assert.Same(values[0], v));
    }

    [Fact]
    public async Task GetOrCreate_ConcurrentCallersOnFailingCreator_AllGetTheSameException()
    {
        await using var t = new TestRegion();
        var creator = new ControlledCreator<string>(_ => "never") { FailWith = new InvalidOperationException("upstream down") };
        creator.Hold();

        Task<string>[] callers = Enumerable.Range(0, 20).Select(_ => t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask()).ToArray();
        await creator.Started.Task;
        creator.Release();

        var errors = new List<Exception>();
        foreach (Task<string> caller in callers)
        {
            errors.Add(await Assert.ThrowsAsync<InvalidOperationException>(() => caller));
        }

        Assert.Equal(1, creator.Calls);
        Assert.All(errors, e => Assert.Same(errors[0], e));
        Assert.Equal(1, t.Region.GetStatistics().CreationFailures);
    }

    [Fact]
    public async Task GetOrCreate_StaleValueWhileLocked_ReturnsStaleWithoutWaiting()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();

        // The first caller is elected and regenerates in line (dogpile's synchronous mode).
        Task<string> regenerator = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;

        // Everyone else gets the stale value at once, while the creator is still held.
        for (int i = 0; i < 10; i++)
        {
            ValueTask<string> other = t.Region.GetOrCreateAsync("k", creator.CreateAsync);
            Assert.Equal("old", await other);
        }

        Assert.False(regenerator.IsCompleted);
        creator.Release();
        Assert.Equal("new", await regenerator);
        Assert.Equal(1, creator.Calls);
        Assert.Equal("new", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(10, t.Region.GetStatistics().StaleServed);
    }

    [Fact]
    public async Task GetOrCreate_AfterWaitingForLock_RereadsAndDoesNotCreateAgain()
    {
        var chaos = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        await using var t = new TestRegion(backend: chaos);
        var creator = new ControlledCreator<string>(n => $"v{n}");
        creator.Hold();

        Task<string> first = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;
        // Meanwhile another process (simulated by a direct write) stores the value; waiters must re-read, not create.
        creator.Release();
        Assert.Equal("v1", await first);
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(1, creator.Calls);
        // Read before creating: once on the way in, once more under the lock.
        Assert.True(chaos.Reads >= 3);
    }

    [Fact]
    public async Task GetOrCreate_ValueCreatedByOtherWriterWhileWaitingForGate_IsReturnedWithoutCreator()
    {
        var chaos = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        await using var t = new TestRegion(backend: chaos);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int reads = 0;
        chaos.BeforeRead = async () =>
        {
            // Hold the re-read under the lock (the second read) until another writer has stored the value.
            if (Interlocked.Increment(ref reads) == 2)
            {
                entered.SetResult();
                await proceed.Task;
            }
        };

        Task<string> caller = t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("from creator")).AsTask();
        await entered.Task;
        await t.Region.SetAsync("k", "from other writer");
        proceed.SetResult();

        Assert.Equal("from other writer", await caller);
        Assert.Equal(0, t.Region.GetStatistics().Creations);
    }

    [Fact]
    public async Task CreatedTime_IsStampedWhenCreatorFinishes()
    {
        await using var t = new TestRegion(o => o.LockTimeout = TimeSpan.FromMinutes(5));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        DateTimeOffset before = t.Time.GetUtcNow();

        Task<string> caller = t.Region.GetOrCreateAsync("k", async ct =>
        {
            started.SetResult();
            await finish.Task;
            return "v";
        }).AsTask();
        await started.Task;
        t.Time.Advance(TimeSpan.FromSeconds(30));
        finish.SetResult();
        await caller;

        CacheItem<string>? item = await t.Region.GetItemAsync<string>("k");
        Assert.Equal(before + TimeSpan.FromSeconds(30), item!.Value.Created);
        // Fresh for a full minute from the end of creation, not from its start.
        t.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.True((await t.Region.GetAsync<string>("k")).HasValue);
        t.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
    }

    [Fact]
    public async Task Backend_KeepsValuePastExpiryForStaleWindow_ThenDropsIt()
    {
        await using var t = new TestRegion(o => o.StaleWindow = TimeSpan.FromMinutes(5));
        await t.Region.SetAsync("k", "v");
        var memory = (MemoryCacheBackend)t.Backend;

        t.Time.Advance(TimeSpan.FromMinutes(3));
        Assert.NotNull(await memory.GetAsync("k", default));
        Assert.True((await t.Region.GetItemAsync<string>("k"))!.Value.IsStale);

        t.Time.Advance(TimeSpan.FromMinutes(4));
        Assert.Null(await memory.GetAsync("k", default));
    }
}
