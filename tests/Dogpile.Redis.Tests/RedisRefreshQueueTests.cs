using System.Text;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

/// <summary>A region whose background refreshes go to the Redis queue, with a cached function whose calls are counted.</summary>
internal sealed class QueueRig : IAsyncDisposable
{
    private int _calls;

    public QueueRig(RedisServer server, Action<DogpileRedisOptions>? configure = null)
        : this(server.ConnectionString, configure)
    {
    }

    public QueueRig(string connectionString, Action<DogpileRedisOptions>? configure = null)
    {
        Redis = TestRedis.Create(connectionString, o =>
        {
            o.LockLease = TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        });
        Region = TestRedis.Region(Redis, "jobs", o => o.BackgroundRefresh = true, useQueue: true);
        Fetch = Region.CreateFunction<string, string>("fetch", async (arg, ct) =>
        {
            int call = Interlocked.Increment(ref _calls);
            if (FailWith is { } failure)
            {
                throw failure;
            }

            Started.TrySetResult();
            if (Hold is { } hold)
            {
                await hold.Task.WaitAsync(ct);
            }

            await Task.Yield();
            return $"fresh-{arg}-{call}";
        });
    }

    public DogpileRedis Redis { get; }

    public CacheRegion Region { get; }

    public CachedFunction<string, string> Fetch { get; }

    public Exception? FailWith { get; set; }

    /// <summary>When set, the function waits for it (or its cancellation).</summary>
    public TaskCompletionSource? Hold { get; set; }

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Calls => Volatile.Read(ref _calls);

    public RedisKeysView Keys => new(Redis.Options.KeyPrefix, Redis.Options.QueueName);

    public RedisRefreshWorker Worker(Action<RedisRefreshWorkerOptions>? configure = null)
    {
        var options = new RedisRefreshWorkerOptions { MinIdleTime = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromMilliseconds(50), ShutdownTimeout = TimeSpan.FromSeconds(2) };
        configure?.Invoke(options);
        // Through the façade, as a user does; the tests read the worker's internals (InFlight).
        return (RedisRefreshWorker)Redis.CreateWorker(name => name == Region.Name ? Region : null, options);
    }

    /// <summary>Stores an already expired value for the argument, so the next call is served stale and elects a refresh.</summary>
    public async Task MakeStaleAsync(string arg, string value = "old")
    {
        await Region.SetAsync(Fetch.KeyFor(arg), value, new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        await Eventually.TrueAsync(async () => (await Region.GetItemAsync<string>(Fetch.KeyFor(arg)))?.IsStale == true, "the value is stale");
    }

    public async Task<string?> FreshValueAsync(string arg)
    {
        CacheResult<string> result = await Fetch.GetAsync(arg);
        return result.HasValue ? result.Value : null;
    }

    public async ValueTask DisposeAsync()
    {
        await Region.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

internal sealed record RedisKeysView(string Prefix, string Queue)
{
    public string Stream => $"{Prefix}:{{q:{Queue}}}:jobs";

    public string DeadLetter => $"{Prefix}:{{q:{Queue}}}:dead";

    public string Marker(string backendKey) => $"{Prefix}:{{q:{Queue}}}:pending:{backendKey}";

    public string Lock(string backendKey) => $"{Prefix}:{{{backendKey}}}:lock";
}

public sealed class RedisRefreshQueueTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public Task StaleKey_JobEnqueued_WorkerRefreshesAndAcknowledges() => StaleKeyRefreshedThroughTheQueueAsync(server.ConnectionString);

    /// <summary>The scenario, on any deployment (the cluster tests run it too).</summary>
    internal static async Task StaleKeyRefreshedThroughTheQueueAsync(string connectionString)
    {
        await using var rig = new QueueRig(connectionString);
        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("a");

        Assert.Equal("old", await rig.Fetch.InvokeAsync("a"));

        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync("a"))?.StartsWith("fresh-a", StringComparison.Ordinal) == true, "the worker refreshed the key");
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()) is { Length: 0, Pending: 0, Completed: 1 }, "the job is acknowledged and deleted");
        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(1, snapshot.Enqueued);
        Assert.Equal(0, snapshot.DeadLetterLength);
        IDatabase db = await rig.Redis.DbAsync();
        Assert.False(await db.KeyExistsAsync(rig.Keys.Marker("jobs:fetch:a")));
        Assert.False(await db.KeyExistsAsync(rig.Keys.Lock("jobs:fetch:a")));
        Assert.Equal(1, rig.Calls);
        await worker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task SecondRefreshOfKeyWithPendingJob_IsDeduplicatedAndReleasesItsLock()
    {
        await using var rig = new QueueRig(server, o => o.LockLease = TimeSpan.FromMilliseconds(300));
        await rig.MakeStaleAsync("d");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("d"));
        Assert.Equal(1, (await rig.Redis.GetQueueSnapshotAsync()).Enqueued);

        // No worker yet: once the job's lock lease ends, the next stale read elects again and hits the pending job.
        await Eventually.TrueAsync(async () =>
        {
            Assert.Equal("old", await rig.Fetch.InvokeAsync("d"));
            return (await rig.Redis.GetQueueSnapshotAsync()).Deduplicated >= 1;
        }, "a second refresh was deduplicated");

        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(1, snapshot.Length);
        Assert.Equal(1, snapshot.Enqueued);
        ICacheLock? free = await rig.Redis.LockProvider.TryAcquireAsync("jobs:fetch:d", CancellationToken.None);
        Assert.NotNull(free);
        await free.ReleaseAsync();

        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync("d")) is not null, "the one job refreshed the key");
        await worker.StopAsync(CancellationToken.None);
        Assert.Equal(1, rig.Calls);
    }

    [Fact]
    public async Task FailingJob_RetriedThenDeadLetteredAfterMaxAttempts()
    {
        await using var rig = new QueueRig(server) { FailWith = new InvalidOperationException("upstream is down") };
        using RedisRefreshWorker worker = rig.Worker(o => o.MaxAttempts = 3);
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("f");

        Assert.Equal("old", await rig.Fetch.InvokeAsync("f"));

        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the job is dead-lettered", TimeSpan.FromSeconds(15));
        await worker.StopAsync(CancellationToken.None);
        IDatabase db = await rig.Redis.DbAsync();
        StreamEntry dead = (await db.StreamRangeAsync(rig.Keys.DeadLetter)).Single();
        Assert.True(((string)dead["reason"]!).Contains("failed 3 times", StringComparison.Ordinal), (string)dead["reason"]!);
        Assert.True(((string)dead["reason"]!).Contains("upstream is down", StringComparison.Ordinal), (string)dead["reason"]!);
        Assert.Equal("fetch", (string)dead["function"]!);
        Assert.Equal(3, rig.Calls);
        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(0, snapshot.Length);
        Assert.Equal(0, snapshot.Pending);
        Assert.Equal(3, snapshot.Failed);
        Assert.Equal(1, snapshot.DeadLettered);
        Assert.False(await db.KeyExistsAsync(rig.Keys.Marker("jobs:fetch:f")));
        Assert.Equal("old", (await rig.Region.GetItemAsync<string>(rig.Fetch.KeyFor("f")))?.Value);
    }

    [Fact]
    public async Task MalformedAndUnknownJobs_AreDeadLetteredWithReason_WorkerKeepsGoing()
    {
        await using var rig = new QueueRig(server);
        IDatabase db = await rig.Redis.DbAsync();
        string args = Convert.ToBase64String(Encoding.UTF8.GetBytes("\"x\""));
        NameValueEntry[] Job(string id, params (string Name, string Value)[] fields)
            => [new("job", id), .. fields.Select(f => new NameValueEntry(f.Name, f.Value))];

        await db.StreamAddAsync(rig.Keys.Stream, Job("missing", ("region", "jobs"), ("args", args), ("backendKey", "jobs:fetch:x")));
        await db.StreamAddAsync(rig.Keys.Stream, Job("base64", ("region", "jobs"), ("function", "fetch"), ("args", "%%%not base64"), ("backendKey", "jobs:fetch:x")));
        await db.StreamAddAsync(rig.Keys.Stream, Job("region", ("region", "nowhere"), ("function", "fetch"), ("args", args), ("backendKey", "jobs:fetch:x")));
        await db.StreamAddAsync(rig.Keys.Stream, Job("function", ("region", "jobs"), ("function", "unregistered"), ("args", args), ("backendKey", "jobs:unregistered:x")));
        await db.StreamAddAsync(rig.Keys.Stream, Job("args", ("region", "jobs"), ("function", "fetch"), ("args", Convert.ToBase64String(Encoding.UTF8.GetBytes("{not json"))), ("backendKey", "jobs:fetch:y")));

        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 5, "all five bad jobs are dead-lettered");

        // The worker still runs good jobs.
        await rig.MakeStaleAsync("ok");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("ok"));
        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync("ok")) is not null, "a good job after the bad ones is run");
        await worker.StopAsync(CancellationToken.None);

        Dictionary<string, string> reasons = (await db.StreamRangeAsync(rig.Keys.DeadLetter)).ToDictionary(e => (string)e["job"]!, e => (string)e["reason"]!);
        Assert.Contains("missing field 'function'", reasons["missing"], StringComparison.Ordinal);
        Assert.Contains("base64", reasons["base64"], StringComparison.Ordinal);
        Assert.Contains("unknown region 'nowhere'", reasons["region"], StringComparison.Ordinal);
        Assert.Contains("unknown function", reasons["function"], StringComparison.Ordinal);
        Assert.Contains("unreadable arguments", reasons["args"], StringComparison.Ordinal);
        Assert.Equal(0, (await rig.Redis.GetQueueSnapshotAsync()).Length);
    }

    [Fact]
    public async Task EnqueueFails_RegionFallsBackToInProcessRunner_LockReleasedAndNothingLost()
    {
        await using var rig = new QueueRig(server);
        IDatabase db = await rig.Redis.DbAsync();
        await db.StringSetAsync(rig.Keys.Stream, "not a stream"); // XADD now fails with WRONGTYPE
        await rig.MakeStaleAsync("x");

        Assert.Equal("old", await rig.Fetch.InvokeAsync("x"));

        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync("x")) is not null, "the in-process runner refreshed the key");
        await db.KeyDeleteAsync(rig.Keys.Stream);
        Assert.Equal(1, (await rig.Redis.GetQueueSnapshotAsync()).EnqueueFailures);
        Assert.Equal(1, rig.Region.GetStatistics().RefreshFallbacks);
        Assert.False(await db.KeyExistsAsync(rig.Keys.Marker("jobs:fetch:x")));
        await Eventually.TrueAsync(async () => !await db.KeyExistsAsync(rig.Keys.Lock("jobs:fetch:x")), "the lock is released");
    }

    [Fact]
    public async Task AdHocCreator_IsNotEnqueued_RunsInProcess()
    {
        await using var rig = new QueueRig(server);
        await rig.Region.SetAsync("plain", "old", new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        await Eventually.TrueAsync(async () => (await rig.Region.GetItemAsync<string>("plain"))?.IsStale == true, "the value is stale");

        Assert.Equal("old", await rig.Region.GetOrCreateAsync("plain", _ => ValueTask.FromResult("new")));

        await Eventually.TrueAsync(async () => (await rig.Region.GetAsync<string>("plain")).HasValue, "refreshed in process");
        Assert.Equal(0, (await rig.Redis.GetQueueSnapshotAsync()).Enqueued);
    }

    [Fact]
    public async Task JobDeliveredMoreOftenThanAttemptsAllow_IsDeadLetteredWithoutRunning()
    {
        await using var rig = new QueueRig(server);
        IDatabase db = await rig.Redis.DbAsync();
        await db.StreamCreateConsumerGroupAsync(rig.Keys.Stream, rig.Redis.Options.ConsumerGroup, "0", createStream: true);
        string args = Convert.ToBase64String(Encoding.UTF8.GetBytes("\"c\""));
        RedisValue id = await db.StreamAddAsync(rig.Keys.Stream, [new("job", "crasher"), new("region", "jobs"), new("function", "fetch"), new("args", args), new("backendKey", "jobs:fetch:c")]);

        // A consumer that took it and died, four times over.
        await db.StreamReadGroupAsync(rig.Keys.Stream, rig.Redis.Options.ConsumerGroup, "ghost", ">");
        for (int i = 0; i < 3; i++)
        {
            await db.StreamClaimAsync(rig.Keys.Stream, rig.Redis.Options.ConsumerGroup, "ghost", 0, [id]);
        }

        using RedisRefreshWorker worker = rig.Worker(o => o.MaxAttempts = 3);
        await worker.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the crash-looping job is dead-lettered");
        await worker.StopAsync(CancellationToken.None);

        StreamEntry dead = (await db.StreamRangeAsync(rig.Keys.DeadLetter)).Single();
        Assert.Contains("delivered 5 times", (string)dead["reason"]!, StringComparison.Ordinal);
        Assert.Equal(0, rig.Calls);
        Assert.Equal(0, (await rig.Redis.GetQueueSnapshotAsync()).Pending);
    }

    [Fact]
    public async Task Shutdown_RunningJobFinishesWithinTimeout_IsAcknowledged()
    {
        await using var rig = new QueueRig(server) { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        using RedisRefreshWorker worker = rig.Worker(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("s");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("s"));
        await rig.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Task stopping = worker.StopAsync(CancellationToken.None);
        Assert.False(stopping.IsCompleted);
        rig.Hold!.TrySetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotNull(await rig.FreshValueAsync("s"));
        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(0, snapshot.Length);
        Assert.Equal(0, snapshot.Pending);
    }

    [Fact]
    public async Task Shutdown_JobStillRunningAtTimeout_IsCancelledAndLeftPendingForAnotherWorker()
    {
        await using var rig = new QueueRig(server) { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        using RedisRefreshWorker worker = rig.Worker(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("p");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("p"));
        await rig.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await worker.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(1, snapshot.Length);
        Assert.Equal(1, snapshot.Pending);
        Assert.Equal(0, snapshot.DeadLetterLength);

        // Another worker takes it over once it has been idle long enough.
        rig.Hold.TrySetResult();
        using RedisRefreshWorker next = rig.Worker();
        await next.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync("p")) is not null, "the next worker ran the job");
        await next.StopAsync(CancellationToken.None);
    }
}
