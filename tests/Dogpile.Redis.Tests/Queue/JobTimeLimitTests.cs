using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Queue;

/// <summary>Each run of a job has a time limit, its lock is released however the run ends, and a long run keeps its job.</summary>
public sealed class JobTimeLimitTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task JobPastTimeLimit_CancelledAndLockReleased_RetriedThenDeadLettered_KeyFreshAgainAfterward()
    {
        await using var rig = new QueueRig(server) { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        using RedisRefreshWorker worker = rig.Worker(o => (o.JobTimeout, o.MaxAttempts) = (TimeSpan.FromMilliseconds(300), 2));
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("t");

        Assert.Equal("old", await rig.Fetch.InvokeAsync("t"));

        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the job is dead-lettered after two timed-out runs", TimeSpan.FromSeconds(15));
        IDatabase db = await rig.Redis.DbAsync();
        string reason = (string)(await db.StreamRangeAsync(rig.Keys.DeadLetter)).Single()["reason"]!;
        Assert.Contains("failed 2 times", reason, StringComparison.Ordinal);
        Assert.Contains("JobTimeout", reason, StringComparison.Ordinal);
        Assert.Equal(2, rig.Calls);
        Assert.Equal(2, (await rig.Redis.GetQueueSnapshotAsync()).Failed);
        Assert.Empty(await LocksAsync(rig));
        Assert.Equal(0, worker.InFlight);

        rig.Hold = null;
        await rig.MakeStaleAsync("t");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("t"));
        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync("t")) is not null, "the next job for the key refreshed it");
        await worker.StopAsync(CancellationToken.None);
        Assert.Empty(await LocksAsync(rig));
    }

    [Fact]
    public async Task FunctionIgnoringCancellation_AbandonedAtTimeLimit_LockReleasedWhileItStillRuns()
    {
        await using var rig = new QueueRig(server);
        var stuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CachedFunction<string, string> stubborn = rig.Region.CreateFunction<string, string>("stubborn", async (arg, _) =>
        {
            started.TrySetResult();
            await stuck.Task; // ignores the token on purpose
            return "late-" + arg;
        });
        await rig.Region.SetAsync(stubborn.KeyFor("s"), "old", new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        await Eventually.TrueAsync(async () => (await rig.Region.GetItemAsync<string>(stubborn.KeyFor("s")))?.IsStale == true, "the value is stale");
        using RedisRefreshWorker worker = rig.Worker(o => (o.JobTimeout, o.MaxAttempts) = (TimeSpan.FromMilliseconds(300), 1));
        await worker.StartAsync(CancellationToken.None);

        Assert.Equal("old", await stubborn.InvokeAsync("s"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the job is dead-lettered at its time limit");
        Assert.Empty(await LocksAsync(rig));

        // The worker writes the dead letter, then counts the job done: the count follows a moment after the write.
        await Eventually.TrueAsync(() => worker.InFlight == 0, "the abandoned job no longer counts as in flight");
        Assert.False(stuck.Task.IsCompleted);
        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(0, snapshot.Length);
        Assert.Equal(0, snapshot.Pending);

        stuck.TrySetResult();
        await worker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task JobRunningLongerThanMinIdleTime_NotTakenOverByAnotherWorker_RunsOnce()
    {
        await using var rig = new QueueRig(server) { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        // MinIdleTime 2 s: beats every 667 ms, so only a stall of over 1.3 s could miss one (one of 1 s did, once, in a
        // CI run with every test assembly and a browser on 2 cores).
        Action<RedisRefreshWorkerOptions> idle = o => o.MinIdleTime = TimeSpan.FromSeconds(2);
        using RedisRefreshWorker first = rig.Worker(idle);
        await first.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("l");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("l"));
        await rig.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        using RedisRefreshWorker second = rig.Worker(idle);
        await second.StartAsync(CancellationToken.None);

        // Three MinIdleTimes: without the running job's heartbeat the second worker would take it over.
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(1, rig.Calls);
        Assert.Equal(0, (await rig.Redis.GetQueueSnapshotAsync()).Reclaimed);

        rig.Hold!.TrySetResult();
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()) is { Length: 0, Pending: 0, Completed: 1 }, "the job completes once");
        Assert.Equal("fresh-l-1", await rig.FreshValueAsync("l"));
        await first.StopAsync(CancellationToken.None);
        await second.StopAsync(CancellationToken.None);
        Assert.Equal(1, rig.Calls);
        Assert.Empty(await LocksAsync(rig));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task WorkerOptions_JobTimeoutNotPositive_Rejected(int seconds)
    {
        await using var rig = new QueueRig(server);
        ArgumentException ex = Assert.Throws<ArgumentException>(() => rig.Worker(o => o.JobTimeout = TimeSpan.FromSeconds(seconds)));
        Assert.Contains("JobTimeout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerOptions_MaxArgumentsSizeZero_Rejected()
    {
        await using var rig = new QueueRig(server);
        ArgumentException ex = Assert.Throws<ArgumentException>(() => rig.Worker(o => o.MaxArgumentsSize = 0));
        Assert.Contains("MaxArgumentsSize", ex.Message, StringComparison.Ordinal);
    }

    internal static async Task<string[]> LocksAsync(QueueRig rig)
    {
        IDatabase db = await rig.Redis.DbAsync();
        RedisResult keys = await db.ExecuteAsync("KEYS", $"{rig.Redis.Options.KeyPrefix}:*:lock");
        return ((RedisResult[])keys!).Select(k => (string)k!).ToArray();
    }
}
