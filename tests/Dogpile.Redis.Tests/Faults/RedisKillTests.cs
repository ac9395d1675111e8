using System.Diagnostics;
using System.Text;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Faults;

/// <summary>
/// redis-server killed with SIGKILL and started again on the same port, without persistence: every key, lock and fence
/// counter is gone. Owns its server: no other class shares the outage.
/// </summary>
public sealed class RedisKillTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static CacheEntry Entry(string text)
        => new(Encoding.UTF8.GetBytes(text), 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero);

    [Fact]
    public async Task RestartWithoutPersistence_NewOwnerWrites_OldOwnersLateFencedWriteIsRefused()
    {
        await using DogpileRedis old = TestRedis.Create(server, o => o.RenewLocks = false);
        await using DogpileRedis newer = TestRedis.Create(server, prefix: old.Options.KeyPrefix);
        ICacheLock slow = (await old.LockProvider.TryAcquireAsync("reset", CancellationToken.None))!;

        server.Stop();
        await server.StartAsync();

        // The counter starts again: the new owner's fence must still be above the old one's.
        ICacheLock? taken = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    return (taken = await newer.LockProvider.TryAcquireAsync("reset", CancellationToken.None)) is not null;
                }
                catch (DogpileRedisUnavailableException)
                {
                    return false;
                }
            },
            "the restarted server hands out the lock",
            TimeSpan.FromSeconds(30));
        Assert.True(taken!.FencingToken > slow.FencingToken, $"fence {taken.FencingToken} after the restart is not above {slow.FencingToken} from before it");
        Assert.True(await newer.Backend.SetAndReleaseAsync("reset", Entry("newer"), TimeSpan.FromMinutes(1), taken, CancellationToken.None));

        // The old owner's write, late, must not overwrite the newer value.
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    Assert.False(await old.Backend.SetAndReleaseAsync("reset", Entry("late"), TimeSpan.FromMinutes(1), slow, CancellationToken.None));
                    return true;
                }
                catch (DogpileRedisUnavailableException)
                {
                    return false;
                }
            },
            "the old owner's connection is back",
            TimeSpan.FromSeconds(30));
        Assert.Equal("newer", Encoding.UTF8.GetString((await newer.Backend.GetAsync("reset", CancellationToken.None))!.Payload.Span));
    }

    [Fact]
    public async Task ServerDown_CallFailsFast_MessageSaysNotConnectedAndTheTimeItTook()
    {
        // A breaker that lets every call probe, so each one reaches the client and reports what the client saw (the
        // breaker's own message is tested in RedisDegradedTests).
        await using DogpileRedis redis = TestRedis.Create(server, o => o.BreakerMinInterval = TimeSpan.Zero);
        await (await redis.DbAsync()).PingAsync();
        server.Stop();
        try
        {
            // A call in flight when the socket closes fails as "the connection failed"; once the client knows it is
            // down, calls are not sent at all and fail at once: the message must say so, not claim a 2 s wait.
            DogpileRedisUnavailableException? ex = null;
            TimeSpan took = TimeSpan.Zero;
            await Eventually.TrueAsync(
                async () =>
                {
                    var watch = Stopwatch.StartNew();
                    ex = await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await redis.LockProvider.TryAcquireAsync("down", CancellationToken.None));
                    took = watch.Elapsed;
                    return ex.Message.Contains("was not sent", StringComparison.Ordinal);
                },
                "the client knows the connection is down");
            Assert.True(took < TimeSpan.FromMilliseconds(500), $"took {took}");
            Assert.StartsWith("Redis is unavailable: lock acquire was not sent: not connected to Redis (failed after ", ex!.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("00:00:02", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("timed out", ex.Message, StringComparison.Ordinal);

            // Never sent, so it cannot leave a lock behind: no release of its token is scheduled.
            Assert.False(ex.MayHaveRun);
            int pending = redis.Locks.PendingReleases.Count;
            await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await redis.LockProvider.TryAcquireAsync("down", CancellationToken.None));
            Assert.Equal(pending, redis.Locks.PendingReleases.Count);
        }
        finally
        {
            await server.StartAsync();
        }
    }

    [Fact]
    public async Task RedisDown_WarmKeyTurnsStale_TheStaleValueIsServedWithoutAnException()
    {
        await using WarmRegion warm = await WarmRegion.CreateAsync(server, "down-stale");
        server.Stop();
        try
        {
            // The local copy is served while fresh, and still once it is stale: a refresh that cannot take its lock is
            // a refresh not started, not an error for the caller.
            Assert.Equal("v1", await warm.Region.GetOrCreateAsync("k0", _ => ValueTask.FromResult("v2")));
            warm.MakeStale();
            Assert.Equal("v1", await warm.Region.GetOrCreateAsync("k0", _ => ValueTask.FromResult("v2")));
            Assert.Equal("v1", await warm.Region.GetOrCreateAsync("k1", _ => ValueTask.FromResult("v2")));
        }
        finally
        {
            await server.StartAsync();
        }
    }

    [Fact]
    public async Task KillAndRestart_WhileCallersLockAndRefreshStaleKeys_ThenFreshAgain_NoLockLeft_NothingLost()
    {
        await using WarmRegion warm = await WarmRegion.CreateAsync(server, "kill");
        warm.MakeStale();

        server.Stop();
        (string[] Values, Exception[] Errors) during;
        try
        {
            during = await warm.CallEveryKeyAsync("v2");
        }
        finally
        {
            await server.StartAsync();
        }

        // The restarted server is empty: each key is created again on its next read, once the client has reconnected.
        await warm.UntilEveryKeyIsAsync("v2", TimeSpan.FromSeconds(30), "the restart");
        await warm.NoLockLeftAsync(TimeSpan.FromSeconds(5));

        Assert.True(during.Errors.Length == 0, $"{during.Errors.Length} of {during.Errors.Length + during.Values.Length} callers failed while Redis was down, first: {during.Errors.FirstOrDefault()}");
        Assert.All(during.Values, value => Assert.Equal("v1", value));
    }
}
