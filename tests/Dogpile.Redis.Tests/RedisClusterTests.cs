using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisCluster>
{
    public const string Name = "redis-cluster";
}

/// <summary>The backend contract on a three-node cluster, where every key's hash tag puts it in a slot of its own.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterBackendConformanceTests(RedisCluster cluster) : CacheBackendConformanceTests, IAsyncLifetime
{
    private readonly DogpileRedis _redis = TestRedis.Create(cluster.ConnectionString);

    protected override ICacheBackend CreateBackend() => _redis.Backend;

    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _redis.DisposeAsync();
}

/// <summary>
/// Locks, fenced writes, multi-key calls, invalidation and the refresh queue on a real cluster: every script's keys
/// must share a slot, and multi-key commands must not cross one.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterTests(RedisCluster cluster)
{
    [Fact]
    public async Task KeysOfOneManyCall_SpreadOverEveryNode()
    {
        await using DogpileRedis redis = TestRedis.Create(cluster.ConnectionString);
        IConnectionMultiplexer multiplexer = await redis.GetMultiplexerAsync();
        var endpoints = new HashSet<string>();
        for (int i = 0; i < 30; i++)
        {
            RedisKey key = $"{redis.Options.KeyPrefix}:{{many:{i}}}:v";
            endpoints.Add(multiplexer.GetDatabase().IdentifyEndpoint(key)!.ToString()!);
        }

        // The multi-key tests below would prove nothing if every key happened to live on one node.
        Assert.Equal(3, endpoints.Count);
    }

    [Fact]
    public async Task ColdKey_CallersInTwoProcesses_OneCreatorCall_FencedWriteLands_LockIsGone()
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis first = TestRedis.Create(cluster.ConnectionString, prefix: prefix);
        await using DogpileRedis second = TestRedis.Create(cluster.ConnectionString, prefix: prefix);
        await using CacheRegion a = TestRedis.Region(first, "cold");
        await using CacheRegion b = TestRedis.Region(second, "cold");
        int calls = 0;
        async ValueTask<string> Create(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(200, ct);
            return "created";
        }

        // Each lock acquisition runs the fence counter's INCR once (the fence itself is seeded from the clock).
        long acquisitions = await IncrCallsAsync();
        string[] values = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? a : b).GetOrCreateAsync("k", Create).AsTask()));

        Assert.All(values, v => Assert.Equal("created", v));
        Assert.True(calls == 1, $"{calls} creator calls. What the library logged about the key:\n{TestLog.WarningsAbout("key 'k' in region 'cold'")}");
        IDatabase db = await first.DbAsync();
        Assert.False(await db.KeyExistsAsync($"{prefix}:{{cold:k}}:lock"));
        // One acquisition, or two when the other process's first attempt reaches Redis only after the release (a loaded
        // machine): that one takes the free lock, finds the value with it (the lock script reads it) and creates nothing.
        Assert.InRange(await IncrCallsAsync() - acquisitions, 1, 2);
    }

    private async Task<long> IncrCallsAsync()
    {
        long calls = 0;
        foreach (RedisServer node in cluster.Nodes)
        {
            calls += await node.CommandCallsAsync("incr");
        }

        return calls;
    }

    [Fact]
    public async Task ManyCalls_AcrossSlots_WriteReadAndRemoveEveryKey()
    {
        await using DogpileRedis redis = TestRedis.Create(cluster.ConnectionString);
        await using CacheRegion region = TestRedis.Region(redis, "many");
        string[] keys = Enumerable.Range(0, 30).Select(i => $"k{i}").ToArray();

        await region.SetManyAsync(keys.Select(k => new KeyValuePair<string, string>(k, "v-" + k)));
        CacheResult<string>[] read = await region.GetManyAsync<string>(keys);
        Assert.Equal(keys.Select(k => "v-" + k), read.Select(r => r.Value));

        await region.RemoveManyAsync(keys[..20]);
        read = await region.GetManyAsync<string>(keys);
        Assert.All(read[..20], r => Assert.False(r.HasValue));
        Assert.All(read[20..], r => Assert.True(r.HasValue));
    }

    [Fact]
    public Task HardInvalidation_InOneProcess_ReachesTheOthers_AndNewSubscribersLoadIt()
        => RedisInvalidationTests.HardInvalidationReachesEveryProcessAsync(cluster.ConnectionString);

    [Fact]
    public Task StaleKey_JobEnqueued_WorkerRefreshesAndAcknowledges()
        => RedisRefreshQueueTests.StaleKeyRefreshedThroughTheQueueAsync(cluster.ConnectionString);
}
