using Dogpile.Memcached.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Memcached.Tests.Region;

public sealed class DependencyInjectionTests(MemcachedServer server) : IClassFixture<MemcachedServer>
{
    [Fact]
    public async Task AddMemcached_EveryRegionWithoutItsOwnBackendSharesOneClientBackendAndLock()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddMemcached(o => o.Servers.Add(server.Endpoint), l => l.Lease = TimeSpan.FromSeconds(10))
            .AddRegion("bugs", o => o.KeyPrefix = $"bugs{Guid.NewGuid():N}:")
            .AddRegion("search", o => o.KeyPrefix = $"search{Guid.NewGuid():N}:")
            .AddRegion("local", o => o.Backend = new MemoryCacheBackend(10, TimeProvider.System));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var bugs = provider.GetRequiredKeyedService<CacheRegion>("bugs");
        var search = provider.GetRequiredKeyedService<CacheRegion>("search");
        var local = provider.GetRequiredKeyedService<CacheRegion>("local");
        var backend = provider.GetRequiredService<MemcachedCacheBackend>();
        var locks = provider.GetRequiredService<MemcachedLockProvider>();

        Assert.Same(backend, bugs.Backend);
        Assert.Same(backend, search.Backend);
        Assert.IsType<MemoryCacheBackend>(local.Backend);
        Assert.Same(backend.Client, locks.Client);
        Assert.Equal(TimeSpan.FromSeconds(10), locks.Lease);

        Assert.Equal("b", await bugs.GetOrCreateAsync("k", _ => new ValueTask<string>("b")));
        Assert.Equal("s", await search.GetOrCreateAsync("k", _ => new ValueTask<string>("s")));
        Assert.Equal("b", (await bugs.GetAsync<string>("k")).Value);
        Assert.InRange(backend.OpenConnectionCount, 1, new MemcachedClientOptions().MaxConnectionsPerServer);
    }

    [Fact]
    public void AddMemcached_InvalidClientOptions_FailWhenResolvedNamingTheOption()
    {
        var services = new ServiceCollection();
        services.AddDogpile().AddMemcached(o =>
        {
            o.Servers.Add(server.Endpoint);
            o.MaxConnectionsPerServer = 0;
        }).AddRegion("r");
        using ServiceProvider provider = services.BuildServiceProvider();

        var ex = Assert.ThrowsAny<ArgumentException>(() => provider.GetRequiredService<MemcachedCacheBackend>());
        Assert.Contains("MaxConnectionsPerServer", ex.Message, StringComparison.Ordinal);
    }
}
