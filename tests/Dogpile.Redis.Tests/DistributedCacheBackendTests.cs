using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.Caching.StackExchangeRedis;

namespace Dogpile.Redis.Tests;

/// <summary>The IDistributedCache backend over Microsoft's Redis IDistributedCache, on the test server.</summary>
public sealed class StackExchangeRedisDistributedCacheConformanceTests(RedisServer server)
    : CacheBackendConformanceTests, IClassFixture<RedisServer>, IDisposable
{
    private readonly RedisCache _cache = new(new RedisCacheOptions
    {
        Configuration = server.ConnectionString,
        InstanceName = TestRedis.NewPrefix() + ":",
    });

    protected override ICacheBackend CreateBackend() => new DistributedCacheBackend(_cache);

    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public void Dispose() => _cache.Dispose();
}
