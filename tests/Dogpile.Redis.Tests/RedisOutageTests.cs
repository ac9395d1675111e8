using System.Diagnostics;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

/// <summary>redis-server stopped mid-run and started again, or slow to answer a new connection. Owns its server: no other test class shares the outage.</summary>
public sealed class RedisOutageTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task ServerStoppedThenStarted_ThrowPolicy_CallsFailFast_NearCacheServesHeldKeys_ThenRecovers()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o =>
        {
            o.OperationTimeout = TimeSpan.FromMilliseconds(500);
            o.FailurePolicy = CacheBackendFailurePolicy.Throw;
        });
        await using CacheRegion region = TestRedis.Region(redis, "outage");
        int creations = 0;
        ValueTask<string> Create(string value)
        {
            Interlocked.Increment(ref creations);
            return ValueTask.FromResult(value);
        }

        Assert.Equal("held", await region.GetOrCreateAsync("held", _ => Create("held")));

        server.Stop();
        try
        {
            // A key nobody holds: a clear exception, in bounded time, several times over (no hang once disconnected either).
            for (int i = 0; i < 3; i++)
            {
                var watch = Stopwatch.StartNew();
                var ex = await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await region.GetOrCreateAsync("unheld", _ => Create("unheld")));
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
                Assert.Contains("Redis is unavailable", ex.Message, StringComparison.Ordinal);
            }

            var lockWatch = Stopwatch.StartNew();
            await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await redis.LockProvider.TryAcquireAsync("outage:x", CancellationToken.None));
            Assert.True(lockWatch.Elapsed < TimeSpan.FromSeconds(3), $"lock took {lockWatch.Elapsed}");

            // The key this process read recently is still served, without calling the creator.
            Assert.Equal("held", await region.GetOrCreateAsync("held", _ => Create("recreated")));
            Assert.Equal("held", (await region.GetAsync<string>("held")).Value);
            Assert.Equal(1, creations);
        }
        finally
        {
            await server.StartAsync();
        }

        // Back by itself: the multiplexer reconnects, and calls succeed again (the restarted server is empty).
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    return await region.GetOrCreateAsync("after", _ => Create("after")) == "after";
                }
                catch (DogpileRedisUnavailableException)
                {
                    return false;
                }
            },
            "Redis calls succeed again after the restart",
            TimeSpan.FromSeconds(30));
        Assert.Equal("after", (await region.GetAsync<string>("after")).Value);
    }

    [Fact]
    public async Task ReleaseWhileDisconnected_IsRetriedOnceReconnected_TheLockDoesNotWaitForItsLease()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o => o.RenewLocks = false);
        ICacheLock held = (await redis.LockProvider.TryAcquireAsync("cut-off", CancellationToken.None))!;

        // The server drops this client's connections and refuses new ones (no room under maxclients): the lock stays,
        // and the release cannot reach it.
        IDatabase admin = await server.AdminAsync();
        IServer redisServer = admin.Multiplexer.GetServers()[0];
        ClientInfo[] clients = await redisServer.ClientListAsync();
        string maxClients = (await redisServer.ConfigGetAsync("maxclients"))[0].Value;
        await redisServer.ConfigSetAsync("maxclients", clients.Count(client => client.Name != "dogpile"));
        try
        {
            foreach (ClientInfo client in clients.Where(client => client.Name == "dogpile"))
            {
                await redisServer.ClientKillAsync(client.Id);
            }

            await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await held.ReleaseAsync());
            Assert.True(await admin.KeyExistsAsync(redis.Connection.Keys.Lock("cut-off")));
        }
        finally
        {
            await redisServer.ConfigSetAsync("maxclients", maxClients);
        }

        // Released once the client is back, not 30 s (the lease) later.
        await Eventually.TrueAsync(async () => !await admin.KeyExistsAsync(redis.Connection.Keys.Lock("cut-off")), "the lock is released after the reconnect", TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => redis.Locks.PendingReleases.Count == 0, "nothing waits for a release any more");
    }

    [Fact]
    public async Task SlowFirstConnect_FirstCallWaitsForIt_NotJustOneOperationTimeout()
    {
        // The server answers no command for 1.5 s, so the new connection's handshake takes that long: longer than one
        // OperationTimeout, well within the connect timeout. Under load a first connect can be that slow too.
        IDatabase admin = await server.AdminAsync();
        await admin.ExecuteAsync("CLIENT", "PAUSE", "1500", "ALL");
        var watch = Stopwatch.StartNew();
        await using DogpileRedis redis = TestRedis.Create(server, o => o.OperationTimeout = TimeSpan.FromMilliseconds(300));
        await using CacheRegion region = TestRedis.Region(redis, "slow-connect");

        Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"the pause did not hold the call back ({watch.Elapsed}): the test proves nothing");
    }
}
