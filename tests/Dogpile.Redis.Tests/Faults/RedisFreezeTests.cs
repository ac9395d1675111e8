using System.Diagnostics;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Faults;

/// <summary>
/// redis-server frozen with SIGSTOP, then let go on with SIGCONT: its sockets stay open, calls get no answer and time
/// out on the client, and Redis runs what they sent when it resumes. Owns its server: no other class shares the freeze.
/// </summary>
public sealed class RedisFreezeTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan Freeze = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AcquireSentDuringFreeze_RedisRunsItOnResume_TheOrphanLockIsReleasedAtOnce()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o => o.OperationTimeout = TimeSpan.FromMilliseconds(300));
        await using DogpileRedis other = TestRedis.Create(server, prefix: redis.Options.KeyPrefix);
        IDatabase db = await redis.DbAsync();
        await db.PingAsync();

        server.Pause();
        DogpileRedisUnavailableException ex;
        try
        {
            var watch = Stopwatch.StartNew();
            ex = await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await redis.LockProvider.TryAcquireAsync("frozen", CancellationToken.None));
            Assert.True(watch.Elapsed < Freeze, $"the acquire failed only after {watch.Elapsed}");
            await Task.Delay(Freeze - watch.Elapsed);
        }
        finally
        {
            server.Resume();
        }

        // The message says what happened: sent, no answer in time (not "not connected").
        Assert.Contains("lock acquire timed out: no answer after", ex.Message, StringComparison.Ordinal);

        // Redis ran the acquire when it resumed (its fence exists); the lock it set, under a token nobody holds, is
        // released as soon as Redis answers again: another owner can take the key now, not a 30 s lease later.
        IDatabase admin = await server.AdminAsync();
        await Eventually.TrueAsync(async () => await admin.KeyExistsAsync(redis.Connection.Keys.Fence("frozen")), "Redis ran the acquire sent during the freeze");
        await Eventually.TrueAsync(
            async () =>
            {
                ICacheLock? taken = await other.LockProvider.TryAcquireAsync("frozen", CancellationToken.None);
                if (taken is null)
                {
                    return false;
                }

                await taken.ReleaseAsync();
                return true;
            },
            "another owner can take the key once Redis is back",
            TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => redis.Locks.PendingReleases.Count == 0, "nothing waits for a release any more");
    }

    [Fact]
    public async Task ReleaseDuringFreeze_FailsButIsRetried_TheLockIsGoneAfterResume()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o => { o.OperationTimeout = TimeSpan.FromSeconds(1); o.RenewLocks = false; });
        ICacheLock held = (await redis.LockProvider.TryAcquireAsync("release-frozen", CancellationToken.None))!;

        server.Pause();
        try
        {
            await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await held.ReleaseAsync());
        }
        finally
        {
            server.Resume();
        }

        // The failed release opened the connection's breaker: until its first probe (250 ms) calls fail at once.
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    return !await redis.Locks.IsHeldByAsync("release-frozen", held.OwnerToken, CancellationToken.None);
                }
                catch (DogpileRedisUnavailableException ex) when (ex.Failure == CacheBackendFailure.BreakerOpen)
                {
                    return false;
                }
            },
            "the lock is released after the freeze",
            TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => redis.Locks.PendingReleases.Count == 0, "nothing waits for a release any more");
    }

    [Fact]
    public async Task Freeze_WhileCallersLockAndRefreshStaleKeys_ThenFreshAgainWithinSeconds_NoLockLeft_NothingLost()
    {
        await using WarmRegion warm = await WarmRegion.CreateAsync(server, "freeze");
        warm.MakeStale();

        server.Pause();
        (string[] Values, Exception[] Errors) during;
        try
        {
            // Each caller's read times out and is served from the local copy; its stale value elects a refresh whose
            // try-lock is sent to the frozen server and times out too.
            var watch = Stopwatch.StartNew();
            during = await warm.CallEveryKeyAsync("v2");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"callers during the freeze took {watch.Elapsed}");
        }
        finally
        {
            server.Resume();
        }

        // Redis runs the queued lock scripts on resume; without their release every key would stay locked, and so
        // stale, for the 30 s lease. Documented bound: fresh on the first read once Redis answers and the key's
        // refresh back-off (RefreshFailureBackoff, 5 s on the region's clock) has passed.
        await warm.UntilEveryKeyIsAsync("v2", TimeSpan.FromSeconds(10), "the freeze ended");
        await warm.NoLockLeftAsync(TimeSpan.FromSeconds(5));

        // Nothing lost: every caller during the freeze got the stale value, none an exception.
        Assert.True(during.Errors.Length == 0, $"{during.Errors.Length} of {during.Errors.Length + during.Values.Length} callers failed during the freeze, first: {during.Errors.FirstOrDefault()}");
        Assert.All(during.Values, value => Assert.Equal("v1", value));
    }
}
