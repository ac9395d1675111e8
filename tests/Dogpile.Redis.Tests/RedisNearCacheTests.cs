using System.Diagnostics;
using Dogpile.Redis.Internal;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

/// <summary>
/// The near cache on Redis: a fresh hit is the in-process hit, and every process sees every other's set, remove and
/// invalidate through the change feed, including after its subscription connection was cut. Owns its server: the
/// pub/sub connections it kills are its own.
/// </summary>
public sealed class RedisNearCacheTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan SeenWithin = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task FreshHit_SendsNoRedisCommand_CompletesSynchronously_AllocatesNothing()
    {
        await using DogpileRedis redis = TestRedis.Create(server);
        await using CacheRegion region = TestRedis.Region(redis, "hits");
        Func<int, CancellationToken, ValueTask<string>> creator = static (_, _) => ValueTask.FromResult("created");
        Assert.Equal("created", await region.GetOrCreateAsync("k", 0, creator));

        // Once the change feed is confirmed, the near cache starts over (nothing read before is trusted): wait for it,
        // so the measured hits are the steady state's.
        RedisChangeFeed feed = ((RedisCacheBackend)redis.Backend).Feed;
        await Eventually.TrueAsync(() => feed.IsLive, "the change feed is live", TimeSpan.FromSeconds(10));
        Assert.Equal("created", await region.GetOrCreateAsync("k", 0, creator));
        IConnectionMultiplexer mux = await redis.GetMultiplexerAsync();
        long operations = mux.GetCounters().Interactive.OperationCount;
        long gets = await server.CommandCallsAsync("get", "evalsha", "eval");

        // Warm up first: a hit counter that a metrics listener elsewhere in the process switched on allocates this
        // thread's cell once, on its first count; the measured hits must be the steady state's.
        for (int i = 0; i < 1_000; i++)
        {
            _ = region.GetOrCreateAsync("k", 0, creator);
        }

        int notSynchronous = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            ValueTask<string> hit = region.GetOrCreateAsync("k", 0, creator);
            notSynchronous += hit.IsCompletedSuccessfully ? 0 : 1;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, notSynchronous);
        Assert.Equal(0, allocated);
        Assert.Equal(operations, mux.GetCounters().Interactive.OperationCount);
        Assert.Equal(gets, await server.CommandCallsAsync("get", "evalsha", "eval"));
    }

    [Fact]
    public async Task MultiKeyReads_FreshKeysServedFromTheNearCache_OnlyTheOthersRead_AndKept()
    {
        await using DogpileRedis redis = TestRedis.Create(server);
        await using CacheRegion region = TestRedis.Region(redis, "many");
        RedisChangeFeed feed = ((RedisCacheBackend)redis.Backend).Feed;
        await Eventually.TrueAsync(() => feed.IsLive, "the change feed is live", TimeSpan.FromSeconds(10));
        await region.SetManyAsync(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "3" });

        // A batch write evicts its keys here: the first batch read fills the near cache, the second reads nothing.
        Assert.Equal(["1", "2", "3"], (await region.GetManyAsync<string>(["a", "b", "c"])).Select(r => r.Value));
        long reads = await server.CommandCallsAsync("mget", "get");
        Assert.Equal(["1", "2", "3"], (await region.GetManyAsync<string>(["a", "b", "c"])).Select(r => r.Value));
        int creatorCalls = 0;
        string[] created = await region.GetOrCreateManyAsync<string>(["a", "b", "c"], (missing, _) =>
        {
            Interlocked.Increment(ref creatorCalls);
            return ValueTask.FromResult<IReadOnlyList<string>>([.. missing.Select(k => "new-" + k)]);
        });
        Assert.Equal(["1", "2", "3"], created);
        Assert.Equal(0, creatorCalls);
        Assert.Equal(reads, await server.CommandCallsAsync("mget", "get"));

        // A key the near cache lacks is read, and only it.
        await region.SetAsync("d", "4");
        await region.RemoveAsync("a");
        CacheResult<string>[] mixed = await region.GetManyAsync<string>(["a", "b", "c", "d"]);
        Assert.False(mixed[0].HasValue);
        Assert.Equal(["2", "3", "4"], mixed.Skip(1).Select(r => r.Value));
        Assert.Equal(reads + 1, await server.CommandCallsAsync("mget", "get"));
    }

    [Fact]
    public async Task TwoProcesses_SetRemoveInvalidateInA_SeenByB_AlsoAfterPubSubReconnect()
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis redis = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion a = TestRedis.Region(redis, "coherent");
        using ChildProcess b = StampedeClient.Start("near", server.ConnectionString, prefix, "coherent");
        await b.WaitForLineAsync("READY", TimeSpan.FromSeconds(60));

        // B trusts its near entries for an hour without the feed: only the feed (or its reset) can show it A's changes.
        await a.SetAsync("k", "v1");
        await SeenAsync(b, "k", "v1");
        await a.SetAsync("k", "v2");
        await SeenAsync(b, "k", "v2");
        await a.RemoveAsync("k");
        await SeenAsync(b, "k", "<miss>");
        await a.SetAsync("k", "v3");
        await SeenAsync(b, "k", "v3");
        await a.InvalidateAsync();
        await SeenAsync(b, "k", "<miss>");

        // A created value (through the fenced write under the lock) is announced too.
        Assert.Equal("v4", await a.GetOrCreateAsync("k", _ => ValueTask.FromResult("v4")));
        await SeenAsync(b, "k", "v4");

        // Every pub/sub connection cut: B may miss notices while it reconnects, so it drops what it trusted.
        IServer admin = (await server.AdminAsync()).Multiplexer.GetServers()[0];
        await admin.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        await a.SetAsync("k", "v5");
        await SeenAsync(b, "k", "v5");

        // Once reconnected, notices flow again.
        await a.SetAsync("k", "v6");
        await SeenAsync(b, "k", "v6");
        await a.RemoveAsync("k");
        await SeenAsync(b, "k", "<miss>");
    }

    [Fact]
    public async Task RedisKilled_HeldKeyServedFromTheNearCache_CreatorNotCalledAgain()
    {
        var own = new RedisServer();
        await own.InitializeAsync();
        try
        {
            await using DogpileRedis redis = TestRedis.Create(own, o => o.OperationTimeout = TimeSpan.FromMilliseconds(500));
            await using CacheRegion region = TestRedis.Region(redis, "outage");
            int creations = 0;
            ValueTask<string> Create(string value)
            {
                Interlocked.Increment(ref creations);
                return ValueTask.FromResult(value);
            }

            Assert.Equal("held", await region.GetOrCreateAsync("held", _ => Create("held")));
            await Eventually.TrueAsync(() => region.GetStatistics().NearCache == NearCacheState.Coherent, "the change feed is live");
            Assert.Equal(1, region.GetStatistics().NearCacheEntries);

            own.Stop();
            await Eventually.TrueAsync(() => region.GetStatistics().NearCache == NearCacheState.TimeBounded, "the lost feed makes the near cache time-bounded");

            // The subscription fails with the server, so nothing held is trusted: each call is a failed read answered
            // from the near cache, within the operation timeout.
            for (int i = 0; i < 3; i++)
            {
                var watch = Stopwatch.StartNew();
                Assert.Equal("held", await region.GetOrCreateAsync("held", _ => Create("recreated")));
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
            }

            Assert.Equal("held", (await region.GetAsync<string>("held")).Value);
            Assert.Equal(1, creations);
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    private static async Task SeenAsync(ChildProcess child, string key, string expected)
    {
        var watch = Stopwatch.StartNew();
        string seen;
        while ((seen = await child.AskAsync("get " + key, SeenWithin)) != expected)
        {
            Assert.True(watch.Elapsed < SeenWithin, $"process B still serves '{seen}' for '{key}' {watch.Elapsed} after A's change to '{expected}'");
            await Task.Delay(20);
        }
    }
}
