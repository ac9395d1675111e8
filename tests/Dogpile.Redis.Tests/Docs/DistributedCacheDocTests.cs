using Dogpile.Redis.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Redis.Tests.Docs;

/// <summary>
/// docs/distributed-cache.md, run as written: any IDistributedCache as the shared level, alone and paired with the Redis
/// lock. (Dogpile.Tests checks that the page's code is this code.)
/// </summary>
public sealed class DistributedCacheDocTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task AddDistributedCacheBackend_RegionsStoreInTheRegisteredIDistributedCache()
    {
        string redisConnection = server.ConnectionString;
        var services = new ServiceCollection();
        string instance = TestRedis.NewPrefix() + ":";

        // --- docs/distributed-cache.md ---
        services.AddStackExchangeRedisCache(o => o.Configuration = redisConnection);   // or AddDistributedSqlServerCache, AddSqliteCache, ...
        services.AddDogpile()
            .AddDistributedCacheBackend(o => o.MaxValueBytes = 1024 * 1024)
            .AddRegion("bugs", o => o.Expiration = TimeSpan.FromMinutes(5));
        // --- end ---

        services.Configure<RedisCacheOptions>(o => o.InstanceName = instance);
        await using ServiceProvider provider = services.BuildServiceProvider();
        CacheRegion bugs = provider.GetRequiredKeyedService<CacheRegion>("bugs");

        Assert.Equal("crash", await bugs.GetOrCreateAsync("1", _ => new ValueTask<string>("crash")));
        byte[]? stored = await provider.GetRequiredService<IDistributedCache>().GetAsync("bugs:1");
        Assert.NotNull(stored);
        Assert.Equal(TimeSpan.FromMinutes(5), CacheEntry.FromBytes(stored).Expiration);
    }

    [Fact]
    public async Task WithTheRedisLock_OneCreatorPerKeyAcrossProcesses()
    {
        string redisConnection = server.ConnectionString;
        string key = "bug-" + Guid.NewGuid().ToString("N");
        using var store = new RedisCache(new RedisCacheOptions { Configuration = redisConnection, InstanceName = TestRedis.NewPrefix() + ":" });
        using var release = new SemaphoreSlim(0);
        int creations = 0;

        // Two processes, each with its own connection and region, over one store.
        async Task<string[]> ProcessAsync(int process)
        {
            // --- docs/distributed-cache.md ---
            await using var redis = new DogpileRedis(new DogpileRedisOptions { ConnectionString = redisConnection });
            await using var bugs = new CacheRegion(new CacheRegionOptions
            {
                Name = "bugs",
                KeyPrefix = "bugs:",
                Backend = new DistributedCacheBackend(store),   // the IDistributedCache: SQL Server, SQLite, Cosmos DB, ...
                LockProvider = redis.LockProvider,              // one creator per key across every process
            });
            // --- end ---

            return await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => bugs.GetOrCreateAsync(key, async ct =>
            {
                Interlocked.Increment(ref creations);
                await release.WaitAsync(ct);
                return $"created in process {process}";
            }).AsTask()));
        }

        Task<string[]> first = ProcessAsync(1), second = ProcessAsync(2);
        await Testing.Eventually.TrueAsync(() => Volatile.Read(ref creations) >= 1, "one caller starts creating");
        await Task.Delay(200);   // time for a second creator to start, were the lock not shared
        release.Release(2);
        string[] answers = [.. await first, .. await second];

        Assert.Equal(1, creations);
        Assert.Single(answers.Distinct());
    }
}
