using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>Dogpile's async creation runner: the elected regenerator returns the stale value, the refresh runs elsewhere.</summary>
public sealed class BackgroundRefreshTests
{
    [Fact]
    public async Task Stale_ElectedCallerReturnsStaleAtOnce_RefreshRunsInBackground()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();

        ValueTask<string> elected = t.Region.GetOrCreateAsync("k", creator.CreateAsync);

        Assert.Equal("old", await elected);
        await creator.Started.Task;
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        creator.Release();
        await Eventually.TrueAsync(async () => await t.Region.GetOrCreateAsync("k", creator.CreateAsync) == "new", "the refreshed value is served");
        Assert.Equal(1, creator.Calls);
        Assert.Equal(1, t.Region.GetStatistics().RefreshesStarted);
    }

    [Fact]
    public async Task StaleHitWhileRefreshRuns_IsSynchronousAndAllocatesNothing()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();
        Func<ControlledCreator<string>, CancellationToken, ValueTask<string>> create = static (c, ct) => c.CreateAsync(ct);
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator, create));
        await creator.Started.Task;
        for (int i = 0; i < 100; i++)
        {
            Assert.True(t.Region.GetOrCreateAsync("k", creator, create).IsCompletedSuccessfully);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            _ = t.Region.GetOrCreateAsync("k", creator, create).Result;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1, creator.Calls);
        creator.Release();
    }

    [Fact]
    public async Task LockHandOff_RunnerOwnsLockUntilRefreshEnds_NoSecondRefreshMeanwhile()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(n => $"new{n}");
        creator.Hold();

        await t.Region.GetOrCreateAsync("k", creator.CreateAsync);
        await creator.Started.Task;
        // The request thread has returned; the lock now belongs to the runner. Other stale readers can't elect.
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        }

        Assert.Equal(1, creator.Calls);
        creator.Release();
        await Eventually.TrueAsync(() => t.Region.GetStatistics().RefreshesRunning == 0 && t.Region.GetStatistics().Creations == 1, "the refresh finished");

        // Released exactly once: after expiry again, a new election succeeds.
        t.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("new1", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        await Eventually.TrueAsync(() => creator.Calls == 2, "a second refresh was elected after the first released its lock");
    }

    [Fact]
    public async Task LockHandOff_FailingRefresh_ReleasesLockAndKeepsStaleValue()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new") { FailWith = new HttpRequestException("upstream 500") };

        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        await Eventually.TrueAsync(() => t.Region.GetStatistics().RefreshesFailed == 1, "the refresh failed");

        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(1, t.Region.GetStatistics().CreationFailures);
    }

    [Fact]
    public async Task CustomRunner_ReceivesRequestWithLockHeld_ReleaseIsIdempotent()
    {
        var runner = new RecordingRunner();
        await using var t = new TestRegion(o =>
        {
            o.BackgroundRefresh = true;
            o.RefreshRunner = runner;
        });
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        int calls = 0;
        ValueTask<string> Create(CancellationToken ct)
        {
            calls++;
            return new ValueTask<string>("new");
        }

        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", Create));
        RefreshRequest request = Assert.Single(runner.Requests);
        Assert.Equal("k", request.Key);
        Assert.Equal(RefreshReason.Expired, request.Reason);
        Assert.Null(request.FunctionName);
        Assert.Throws<InvalidOperationException>(() => request.SerializeArguments());

        // While the runner holds the request, nobody else is elected.
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", Create));
        Assert.Single(runner.Requests);

        await request.ReleaseAsync();
        await request.ReleaseAsync();
        Assert.Throws<InvalidOperationException>(() => { _ = request.RunAsync(default); });

        // The gate was released exactly once: the next stale read is elected again.
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", Create));
        Assert.Equal(2, runner.Requests.Count);
        Assert.Equal(RefreshOutcome.Refreshed, await runner.Requests[1].RunAsync(default));
        Assert.Equal(1, calls);
        Assert.Equal("new", await t.Region.GetOrCreateAsync("k", Create));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DurableRunnerRefusesOrThrows_FallsBackToInProcessRunnerAndCountsIt(bool throws)
    {
        var runner = throws ? new RecordingRunner { Throw = true } : new RecordingRunner { Accept = false };
        await using var t = new TestRegion(o =>
        {
            o.BackgroundRefresh = true;
            o.RefreshRunner = runner;
        });
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("new")));
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "new", "the in-process runner refreshed the key");
        Assert.Equal(1, t.Region.GetStatistics().RefreshFallbacks);
    }

    [Fact]
    public async Task BoundedRunner_WhenFull_SkipsRefreshReleasesLockAndCounts()
    {
        await using var t = new TestRegion(o =>
        {
            o.BackgroundRefresh = true;
            o.MaxConcurrentRefreshes = 1;
            o.RefreshBacklog = 1;
        });
        string[] keys = ["a", "b", "c", "d"];
        foreach (string key in keys)
        {
            await t.Region.SetAsync(key, "old");
        }

        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();

        Assert.Equal("old", await t.Region.GetOrCreateAsync("a", creator.CreateAsync));
        await creator.Started.Task; // a runs, occupying the only worker
        Assert.Equal("old", await t.Region.GetOrCreateAsync("b", creator.CreateAsync)); // b waits in the backlog of 1
        Assert.Equal("old", await t.Region.GetOrCreateAsync("c", creator.CreateAsync)); // c: full, skipped
        Assert.Equal("old", await t.Region.GetOrCreateAsync("d", creator.CreateAsync)); // d: full, skipped

        CacheRegionStatistics stats = t.Region.GetStatistics();
        Assert.Equal(2, stats.RefreshesSkipped);
        Assert.Equal(2, stats.RefreshesStarted);
        Assert.Equal(1, stats.RefreshesRunning);
        Assert.Equal(1, stats.RefreshesQueued);

        creator.Release();
        await Eventually.TrueAsync(() => creator.Calls == 2 && t.Region.GetStatistics().RefreshesRunning == 0, "a and b refreshed");

        // c's lock was released when it was skipped: it can be elected now.
        Assert.Equal("old", await t.Region.GetOrCreateAsync("c", creator.CreateAsync));
        await Eventually.TrueAsync(() => creator.Calls == 3, "c refreshed once the runner had room");
    }

    [Fact]
    public async Task Dispose_ReleasesQueuedRefreshes()
    {
        var t = new TestRegion(o =>
        {
            o.BackgroundRefresh = true;
            o.MaxConcurrentRefreshes = 1;
            o.RefreshBacklog = 10;
        });
        await t.Region.SetAsync("a", "old");
        await t.Region.SetAsync("b", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();
        await t.Region.GetOrCreateAsync("a", creator.CreateAsync);
        await creator.Started.Task;
        await t.Region.GetOrCreateAsync("b", creator.CreateAsync);

        await t.Region.DisposeAsync();

        Assert.Equal(1, creator.Calls);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await t.Region.GetOrCreateAsync("missing", creator.CreateAsync));
    }

    [Fact]
    public async Task MissingValue_WaitersWhoFindStaleUnderLock_HandOffToRunner()
    {
        // Dogpile: a caller that waited on the lock and then finds a stale value passes the lock to the async runner.
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        await t.Region.InvalidateAsync(InvalidationMode.Soft);

        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("new")));
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "new", "refreshed in the background");
    }

    private sealed class RecordingRunner : IRefreshRunner
    {
        public List<RefreshRequest> Requests { get; } = [];

        public bool Accept { get; init; } = true;

        public bool Throw { get; init; }

        public ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken)
        {
            if (Throw)
            {
                throw new IOException("queue unavailable");
            }

            if (Accept)
            {
                Requests.Add(request);
            }

            return new ValueTask<bool>(Accept);
        }
    }
}

public sealed class StaleElectionRaceTests
{
    [Fact]
    public async Task StaleReaderElectedAfterAnotherRefreshFinished_DoesNotRefreshAgain()
    {
        var chaos = new Dogpile.Testing.ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        await using var t = new Dogpile.Tests.Infrastructure.TestRegion(o => o.BackgroundRefresh = true, chaos);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var readStale = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int reads = 0;
        chaos.AfterRead = async () =>
        {
            // The first read returns the stale value only after another writer refreshed the key.
            if (Interlocked.Increment(ref reads) == 1)
            {
                readStale.SetResult();
                await letGo.Task;
            }
        };
        int calls = 0;

        Task<string> late = t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("refresh-" + Interlocked.Increment(ref calls))).AsTask();
        await readStale.Task;
        await t.Region.SetAsync("k", "refreshed elsewhere");
        letGo.SetResult();

        Assert.Equal("old", await late);
        Assert.Equal(0, calls);
        Assert.Equal("refreshed elsewhere", (await t.Region.GetAsync<string>("k")).Value);
    }
}
