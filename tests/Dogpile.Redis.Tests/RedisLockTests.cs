using System.Diagnostics;
using System.Text;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

public sealed class RedisLockTests(RedisServer server) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly DogpileRedis _redis = TestRedis.Create(server);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private static CacheEntry Entry(string text)
        => new(Encoding.UTF8.GetBytes(text), 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero);

    private static string Text(CacheEntry? entry) => Encoding.UTF8.GetString(entry!.Payload.Span);

    /// <summary>Lock acquisitions on this class's server so far: each one runs the fence counter's INCR once.</summary>
    private Task<long> AcquisitionsAsync() => server.CommandCallsAsync("incr");

    [Fact]
    public async Task TryAcquire_Free_TakesLockWithTokenAndGrowingFence()
    {
        ICacheLock first = (await _redis.LockProvider.TryAcquireAsync("k", CancellationToken.None))!;
        Assert.NotNull(first);
        Assert.Null(await _redis.LockProvider.TryAcquireAsync("k", CancellationToken.None));
        await first.ReleaseAsync();

        ICacheLock second = (await _redis.LockProvider.TryAcquireAsync("k", CancellationToken.None))!;
        Assert.NotEqual(first.OwnerToken, second.OwnerToken);
        Assert.True(second.FencingToken > first.FencingToken, $"{second.FencingToken} after {first.FencingToken}");
        await second.ReleaseAsync();
        await second.ReleaseAsync(); // idempotent
    }

    [Fact]
    public async Task IsHeld_SeesAnotherProcessesLock_UntilReleased()
    {
        await using DogpileRedis other = TestRedis.Create(server, prefix: _redis.Options.KeyPrefix);
        string key = "held-" + Guid.NewGuid().ToString("N");
        Assert.False(await _redis.LockProvider.IsHeldAsync(key, CancellationToken.None));

        ICacheLock held = (await other.LockProvider.TryAcquireAsync(key, CancellationToken.None))!;
        Assert.True(await _redis.LockProvider.IsHeldAsync(key, CancellationToken.None));

        await held.ReleaseAsync();
        Assert.False(await _redis.LockProvider.IsHeldAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task Release_ByAnotherToken_DoesNotDeleteTheLock()
    {
        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("owned", CancellationToken.None))!;
        await _redis.Locks.Restore("owned", "not-the-owner", held.FencingToken).ReleaseAsync();
        Assert.False(await _redis.Locks.Restore("owned", "not-the-owner", 0).ExtendAsync(TimeSpan.FromSeconds(5), CancellationToken.None));

        Assert.Null(await _redis.LockProvider.TryAcquireAsync("owned", CancellationToken.None));
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task Restore_InAnotherConnection_CanReleaseTheLock()
    {
        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("handoff", CancellationToken.None))!;
        await using DogpileRedis other = TestRedis.Create(server, prefix: _redis.Options.KeyPrefix);

        RedisLockHandle restored = other.Locks.Restore(held.Key, held.OwnerToken, held.FencingToken);
        Assert.True(await restored.ExtendAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        await restored.ReleaseAsync();

        Assert.NotNull(await _redis.LockProvider.TryAcquireAsync("handoff", CancellationToken.None));
    }

    [Fact]
    public async Task Acquire_WhileHeld_IsWokenByReleaseWithoutWaitingForThePoll()
    {
        await using DogpileRedis slowPoll = await TestRedis.Create(server, o => { o.LockPollMinInterval = TimeSpan.FromSeconds(5); o.LockPollMaxInterval = TimeSpan.FromSeconds(5); }, _redis.Options.KeyPrefix).ListeningAsync();
        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("wake", CancellationToken.None))!;

        var watch = Stopwatch.StartNew();
        ValueTask<ICacheLock?> waiting = slowPoll.LockProvider.AcquireAsync("wake", TimeSpan.FromSeconds(20), valueProduced: null, CancellationToken.None);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        await held.ReleaseAsync();
        ICacheLock acquired = (await waiting)!;

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"woken after {watch.Elapsed}, not by the release message");
        await acquired.ReleaseAsync();
    }

    [Fact]
    public async Task Acquire_WokenWhenTheValueWasProduced_ReturnsWithoutTakingTheLock()
    {
        await using DogpileRedis slowPoll = await TestRedis.Create(server, o => { o.LockPollMinInterval = TimeSpan.FromSeconds(5); o.LockPollMaxInterval = TimeSpan.FromSeconds(5); }, _redis.Options.KeyPrefix).ListeningAsync();
        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("produced", CancellationToken.None))!;
        long acquisitions = await AcquisitionsAsync();
        int checks = 0;

        ValueTask<ICacheLock?> waiting = slowPoll.LockProvider.AcquireAsync(
            "produced",
            TimeSpan.FromSeconds(20),
            (written, _) => new ValueTask<bool>(Interlocked.Increment(ref checks) > 0 && written is null),
            CancellationToken.None);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        await held.ReleaseAsync();

        // A plain release carries no entry: the waiter is told to read.
        Assert.Null(await waiting);
        Assert.Equal(1, checks);
        // The waiter never took the lock.
        Assert.Equal(acquisitions, await AcquisitionsAsync());
        ICacheLock next = (await _redis.LockProvider.TryAcquireAsync("produced", CancellationToken.None))!;
        Assert.True(next.FencingToken > held.FencingToken);
        await next.ReleaseAsync();
    }

    [Fact]
    public async Task Acquire_WhileHeldAndNoReleaseComes_PollsWithTheLockScriptOnly()
    {
        await using DogpileRedis fastPoll = await TestRedis.Create(server, o => { o.LockPollMinInterval = TimeSpan.FromMilliseconds(40); o.LockPollMaxInterval = TimeSpan.FromMilliseconds(40); }, _redis.Options.KeyPrefix).ListeningAsync();
        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("polled", CancellationToken.None))!;
        int checks = 0;
        using var giveUp = new CancellationTokenSource();

        ValueTask<ICacheLock?> waiting = fastPoll.LockProvider.AcquireAsync(
            "polled",
            TimeSpan.FromSeconds(20),
            (_, _) => new ValueTask<bool>(Interlocked.Increment(ref checks) < 0),
            giveUp.Token);
        await Task.Delay(200);
        long scriptsBefore = await server.CommandCallsAsync("evalsha", "eval");
        await Task.Delay(600);
        long polls = await server.CommandCallsAsync("evalsha", "eval") - scriptsBefore;
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        await held.ReleaseAsync();

        // It polled, and no poll asked the caller to read: the lock script found no value to hand over.
        Assert.InRange(polls, 3, 30);
        Assert.Equal(0, checks);
    }

    [Fact]
    public async Task ColdKey_AWaitingProcessThatPolls_ReadsTheValueOnlyThroughTheLockScript()
    {
        await using ColdKeyRig rig = await ColdKeyRig.StartAsync(server, "polled", waiterPoll: TimeSpan.FromMilliseconds(40));
        await Eventually.TrueAsync(() => rig.B.GetStatistics().Misses == 1, "the second process waits");
        await Task.Delay(200);
        long scriptsBefore = await server.CommandCallsAsync("evalsha", "eval");
        long getsBefore = await server.CommandCallsAsync("get");
        await Task.Delay(600);
        long polls = await server.CommandCallsAsync("evalsha", "eval") - scriptsBefore;
        long gets = await server.CommandCallsAsync("get") - getsBefore;
        rig.Finish();

        Assert.Equal("polled", await rig.Waiter);
        // Each poll is one lock script whose own GET reads the value (the two counts are read one after the other, so
        // a poll between them shifts one by one); a poll used to send a separate GET as well, twice the reads.
        Assert.InRange(polls, 3, 30);
        Assert.InRange(gets, polls - 1, polls + 1);
    }

    [Fact]
    public async Task ColdKey_TwoProcesses_TheWaitingOneReadsTheValueWithoutTakingTheLock()
    {
        long acquisitions = await AcquisitionsAsync();
        await using ColdKeyRig rig = await ColdKeyRig.StartAsync(server, "made once");
        await Task.Delay(300);
        Assert.False(rig.Waiter.IsCompleted);
        var watch = Stopwatch.StartNew();
        rig.Finish();

        Assert.Equal("made once", await rig.Creator);
        Assert.Equal("made once", await rig.Waiter);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"the waiter was served after {watch.Elapsed}, by a poll rather than the release");
        IDatabase db = await rig.First.DbAsync();
        IServer redisServer = (await rig.First.GetMultiplexerAsync()).GetServers()[0];
        RedisKey[] fences = redisServer.Keys(pattern: rig.Prefix + "*fence").ToArray();
        Assert.Single(fences);
        Assert.Equal(acquisitions + 1, await AcquisitionsAsync());
    }

    [Theory]
    [InlineData(100, 0)] // carried by the release notice: the waiting process reads nothing
    [InlineData(20_000, 1)] // too large to broadcast: it reads the value once
    public async Task ColdKey_TwoProcesses_ASmallValueReachesTheWaiterWithTheReleaseNotice(int valueChars, long waiterReads)
    {
        string value = new('v', valueChars);
        await using ColdKeyRig rig = await ColdKeyRig.StartAsync(server, value);
        await Eventually.TrueAsync(() => rig.B.GetStatistics().Misses == 1, "the second process waits");
        await Task.Delay(200); // past its first read and lock attempt, into the wait
        long getsBefore = await server.CommandCallsAsync("get");
        rig.Finish();

        Assert.Equal(value, await rig.Creator);
        Assert.Equal(value, await rig.Waiter);
        // The fenced write's script reads the fence and the lock: those two GETs are counted by the server too.
        Assert.Equal(2 + waiterReads, await server.CommandCallsAsync("get") - getsBefore);
    }

    [Fact]
    public async Task ReadsFrom_OnlyTheBackendOfTheSameConnection()
    {
        await using DogpileRedis other = TestRedis.Create(server);

        Assert.True(_redis.LockProvider.ReadsFrom(_redis.Backend));
        Assert.False(_redis.LockProvider.ReadsFrom(other.Backend));
        Assert.False(_redis.LockProvider.ReadsFrom(new MemoryCacheBackend()));
    }

    [Fact]
    public async Task Acquire_HeldPastTimeout_ThrowsLockTimeout()
    {
        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("busy", CancellationToken.None))!;
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<CacheLockTimeoutException>(async () => await _redis.LockProvider.AcquireAsync("busy", TimeSpan.FromMilliseconds(400), valueProduced: null, CancellationToken.None));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(3));
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task Renewal_KeepsLockPastItsLease()
    {
        await using DogpileRedis renewing = TestRedis.Create(server, o => o.LockLease = TimeSpan.FromMilliseconds(1500));
        ICacheLock held = (await renewing.LockProvider.TryAcquireAsync("renewed", CancellationToken.None))!;

        // Three leases long; renewal runs every 500 ms, leaving slack for a loaded machine.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(4.5))
        {
            Assert.Null(await renewing.LockProvider.TryAcquireAsync("renewed", CancellationToken.None));
            await Task.Delay(100);
        }

        await held.ReleaseAsync();
        Assert.NotNull(await renewing.LockProvider.TryAcquireAsync("renewed", CancellationToken.None));
    }

    [Fact]
    public async Task LeaseExpiredWhileCreatorSlow_NewOwnerTakesLock_FenceRejectsLateWrite()
    {
        await using DogpileRedis shortLease = TestRedis.Create(server, o => { o.LockLease = TimeSpan.FromMilliseconds(300); o.RenewLocks = false; });
        IFencedCacheBackend backend = shortLease.Backend;
        ICacheLock slow = (await shortLease.LockProvider.TryAcquireAsync("fenced", CancellationToken.None))!;

        // The slow creator's lease runs out; another owner takes the lock and writes.
        ICacheLock? newer = null;
        await Eventually.TrueAsync(async () => (newer = await shortLease.LockProvider.TryAcquireAsync("fenced", CancellationToken.None)) is not null, "the expired lock is taken by a new owner");
        Assert.True(newer!.FencingToken > slow.FencingToken);
        Assert.True(await backend.SetAndReleaseAsync("fenced", Entry("newer"), TimeSpan.FromMinutes(1), newer, CancellationToken.None));

        // The late write is rejected and the newer value stands.
        Assert.False(await backend.SetAndReleaseAsync("fenced", Entry("late"), TimeSpan.FromMinutes(1), slow, CancellationToken.None));
        Assert.Equal("newer", Text(await backend.GetAsync("fenced", CancellationToken.None)));
    }

    [Fact]
    public async Task FenceCounterLost_NewOwnerWrites_OldOwnersLateWriteIsRefused()
    {
        ICacheLock old = (await _redis.LockProvider.TryAcquireAsync("counter-lost", CancellationToken.None))!;

        // Redis loses the lock and the counter (a failover to a replica that missed them, a restart without persistence).
        IDatabase admin = await server.AdminAsync();
        await admin.KeyDeleteAsync([_redis.Connection.Keys.Lock("counter-lost"), _redis.Connection.Keys.Fence("counter-lost")]);

        ICacheLock newer = (await _redis.LockProvider.TryAcquireAsync("counter-lost", CancellationToken.None))!;
        Assert.True(newer.FencingToken > old.FencingToken, $"fence {newer.FencingToken} after the reset is not above {old.FencingToken}");
        Assert.True(await _redis.Backend.SetAndReleaseAsync("counter-lost", Entry("newer"), TimeSpan.FromMinutes(1), newer, CancellationToken.None));

        Assert.False(await _redis.Backend.SetAndReleaseAsync("counter-lost", Entry("late"), TimeSpan.FromMinutes(1), old, CancellationToken.None));
        Assert.Equal("newer", Text(await _redis.Backend.GetAsync("counter-lost", CancellationToken.None)));
    }

    [Fact]
    public async Task Fence_IsSeededFromTheServerClock_SoItOutgrowsAnyCounterBeforeAReset()
    {
        IDatabase admin = await server.AdminAsync();
        RedisResult[] time = (RedisResult[])(await admin.ExecuteAsync("TIME"))!;
        long serverMicroseconds = (((long)time[0]) * 1_000_000) + (long)time[1];

        ICacheLock held = (await _redis.LockProvider.TryAcquireAsync("seeded", CancellationToken.None))!;
        Assert.InRange(held.FencingToken, serverMicroseconds, serverMicroseconds + 60_000_000);
        Assert.Equal(held.FencingToken.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)await admin.StringGetAsync(_redis.Connection.Keys.Fence("seeded")));
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task FencedWrite_WhileNewOwnerStillHoldsLock_IsRejectedAndDoesNotReleaseTheirLock()
    {
        await using DogpileRedis shortLease = TestRedis.Create(server, o => { o.LockLease = TimeSpan.FromMilliseconds(300); o.RenewLocks = false; });
        ICacheLock slow = (await shortLease.LockProvider.TryAcquireAsync("f2", CancellationToken.None))!;
        ICacheLock? newer = null;
        await Eventually.TrueAsync(async () => (newer = await shortLease.LockProvider.TryAcquireAsync("f2", CancellationToken.None)) is not null, "the expired lock is taken");
        await newer!.ExtendAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.False(await shortLease.Backend.SetAndReleaseAsync("f2", Entry("late"), TimeSpan.FromMinutes(1), slow, CancellationToken.None));

        Assert.Null(await shortLease.Backend.GetAsync("f2", CancellationToken.None));
        Assert.Null(await shortLease.LockProvider.TryAcquireAsync("f2", CancellationToken.None));
        Assert.True(await shortLease.Backend.SetAndReleaseAsync("f2", Entry("mine"), TimeSpan.FromMinutes(1), newer, CancellationToken.None));
        Assert.NotNull(await shortLease.LockProvider.TryAcquireAsync("f2", CancellationToken.None));
    }

    [Fact]
    public async Task Region_WithRedisLock_UncontendedCreation_WritesFencedAndReleases()
    {
        await using CacheRegion region = TestRedis.Region(_redis, "locked");
        long acquisitions = await AcquisitionsAsync();
        Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));

        IDatabase db = await _redis.DbAsync();
        Assert.False(await db.KeyExistsAsync($"{_redis.Options.KeyPrefix}:{{locked:k}}:lock"));
        Assert.True(await db.KeyExistsAsync($"{_redis.Options.KeyPrefix}:{{locked:k}}:fence"));
        Assert.Equal(acquisitions + 1, await AcquisitionsAsync());
    }

    /// <summary>
    /// Two "processes" (two <see cref="DogpileRedis"/> instances, one key prefix) on one cold key: the first holds the
    /// creation until <see cref="Finish"/>, the second waits for it, woken only by the release (its polls are 10 s apart).
    /// </summary>
    private sealed class ColdKeyRig : IAsyncDisposable
    {
        private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private DogpileRedis _second = null!;
        private CacheRegion _a = null!;

        public string Prefix { get; } = TestRedis.NewPrefix();

        public DogpileRedis First { get; private set; } = null!;

        public CacheRegion B { get; private set; } = null!;

        public Task<string> Creator { get; private set; } = null!;

        public Task<string> Waiter { get; private set; } = null!;

        /// <summary>Process A starts creating the key and holds; process B asks for it and waits, polling every <paramref name="waiterPoll"/> (10 s unless given: only a release wakes it).</summary>
        public static async Task<ColdKeyRig> StartAsync(RedisServer server, string value, TimeSpan? waiterPoll = null)
        {
            var rig = new ColdKeyRig();
            TimeSpan poll = waiterPoll ?? TimeSpan.FromSeconds(10);
            rig.First = TestRedis.Create(server, prefix: rig.Prefix);
            rig._second = await TestRedis.Create(server, o => { o.LockPollMinInterval = poll; o.LockPollMaxInterval = poll; }, rig.Prefix).ListeningAsync();
            rig._a = TestRedis.Region(rig.First, "cold");
            rig.B = TestRedis.Region(rig._second, "cold");
            var creating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            rig.Creator = rig._a.GetOrCreateAsync("k", async _ =>
            {
                creating.SetResult();
                await rig._finish.Task;
                return value;
            }).AsTask();
            await creating.Task;
            rig.Waiter = rig.B.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("a second creator ran")).AsTask();
            return rig;
        }

        public void Finish() => _finish.TrySetResult();

        public async ValueTask DisposeAsync()
        {
            Finish();
            await _a.DisposeAsync();
            await B.DisposeAsync();
            await _second.DisposeAsync();
            await First.DisposeAsync();
        }
    }
}
