using System.Net;
using Dogpile.Memcached;
using Dogpile.Redis;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Locking.Distributed.Redis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Dogpile.DistributedBenchmarks;

/// <summary>The value every peer caches: a small record, serialized by System.Text.Json everywhere.</summary>
public sealed record Payload(int Id, string Name, long[] Numbers);

/// <summary>How each peer is built, in one place, so the doc can say exactly what was measured.</summary>
internal static class Peers
{
    public const string ClientName = "dogpile-bench";

    public static Payload NewPayload(int id) => new(id, "package-" + id, [1, 2, 3, 4, 5, 6, 7, 8]);

    public static async Task<ConnectionMultiplexer> ConnectAsync(string redis)
    {
        ConfigurationOptions config = ConfigurationOptions.Parse(redis);
        config.ClientName = ClientName;
        config.AbortOnConnectFail = false;
        config.AllowAdmin = true;

        // Dogpile's OperationTimeout (2 s): the multiplexer's own timeout then bounds Dogpile's calls, as
        // docs/redis.md advises for a shared multiplexer. The other peers do not read it on the hit path.
        config.AsyncTimeout = 2000;
        config.SyncTimeout = 2000;
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    /// <summary>Dogpile on Redis over the given multiplexer (a region it is applied to gets a near cache unless it turns it off).</summary>
    public static DogpileRedis DogpileRedis(IConnectionMultiplexer mux, string prefix, TimeSpan? lease = null, string queue = "refresh") =>
        new(new DogpileRedisOptions
        {
            Multiplexer = mux,
            KeyPrefix = prefix,
            LockLease = lease ?? TimeSpan.FromSeconds(30),
            QueueName = queue,
        });

    public const string DogpileRedisConfig =
        "`DogpileRedis` (shared multiplexer with `asyncTimeout` 2 s = `OperationTimeout`, `LockLease` 30 s, renewal on, " +
        "lock poll 50–500 ms + release pub/sub) applied to a `CacheRegion` (`Expiration` 1 min, `StaleWindow` 10 min, `LockTimeout` 20 s), " +
        "default `SystemTextJsonCacheSerializer`";

    public static IFusionCache FusionCache(IConnectionMultiplexer mux, string name, bool withLocker = true)
    {
        Task<IConnectionMultiplexer> Factory() => Task.FromResult(mux);
        var cache = new FusionCache(new FusionCacheOptions
        {
            CacheName = name,
            DefaultEntryOptions = new FusionCacheEntryOptions
            {
                Duration = TimeSpan.FromMinutes(1),
                LockTimeout = Timeout.InfiniteTimeSpan,
                DistributedLockTimeout = TimeSpan.FromSeconds(20),
            },
        });
        cache.SetupSerializer(new FusionCacheSystemTextJsonSerializer());
        cache.SetupDistributedCache(new RedisCache(new RedisCacheOptions { ConnectionMultiplexerFactory = Factory }));
        cache.SetupBackplane(new RedisBackplane(Options.Create(new RedisBackplaneOptions { ConnectionMultiplexerFactory = Factory }), NullLogger<RedisBackplane>.Instance));
        if (withLocker)
        {
            cache.SetupDistributedLocker(new RedisDistributedLocker(Options.Create(new RedisDistributedLockerOptions { ConnectionMultiplexerFactory = Factory }), NullLogger<RedisDistributedLocker>.Instance));
        }

        return cache;
    }

    public const string FusionConfig =
        "FusionCache 2.9.0: L1 memory + L2 `RedisCache` (Microsoft.Extensions.Caching.StackExchangeRedis, same multiplexer via " +
        "`ConnectionMultiplexerFactory`), `FusionCacheSystemTextJsonSerializer`, `RedisBackplane` (same multiplexer), " +
        "`RedisDistributedLocker` (same multiplexer), `Duration` 1 min, `LockTimeout` infinite, `DistributedLockTimeout` 20 s";

    public static (ServiceProvider Services, HybridCache Cache) HybridCache(IConnectionMultiplexer mux, string prefix)
    {
        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(o =>
        {
            o.ConnectionMultiplexerFactory = () => Task.FromResult(mux);
            o.InstanceName = prefix;
        });
        services.AddHybridCache(o => o.DefaultEntryOptions = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(1), LocalCacheExpiration = TimeSpan.FromMinutes(1) });
        ServiceProvider provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<HybridCache>());
    }

    public const string HybridConfig =
        "HybridCache 10.11.0 (`AddHybridCache`) over `AddStackExchangeRedisCache` (same multiplexer via `ConnectionMultiplexerFactory`), " +
        "default System.Text.Json serializer for the record, `Expiration` 1 min";

    public static MemcachedCacheBackend MemcachedBackend(string server, int maxConnections = 8) =>
        new(new MemcachedClientOptions
        {
            Servers = { server },
            MaxConnectionsPerServer = maxConnections,
            PoolWaitTimeout = TimeSpan.FromSeconds(30),
            RequestTimeout = TimeSpan.FromSeconds(10),
        });

    public const string MemcachedConfig =
        "`MemcachedCacheBackend` (`MaxConnectionsPerServer` 8, `PoolWaitTimeout` 30 s, `RequestTimeout` 10 s) + `MemcachedLockProvider` " +
        "(lease 30 s, renewal on, retry 10–250 ms)";

    public static IPEndPoint Parse(string server)
    {
        string[] p = server.Split(':');
        return new IPEndPoint(IPAddress.Parse(p[0]), int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
