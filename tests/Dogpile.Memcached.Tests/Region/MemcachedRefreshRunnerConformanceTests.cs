using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>The refresh-runner contract with memcached: the in-process runner, refreshes guarded by the memcached lock.</summary>
public sealed class MemcachedRefreshRunnerConformanceTests(MemcachedServer server) : RefreshRunnerConformanceTests, IClassFixture<MemcachedServer>, IAsyncLifetime
{
    private readonly MemcachedCacheBackend _backend = new(new MemcachedClientOptions { Servers = { server.Endpoint } });
    private readonly List<CacheRegion> _regions = [];

    protected override ValueTask<CacheRegion> CreateRegionAsync(string name, Action<CacheRegionOptions> configure)
    {
        var options = new CacheRegionOptions { Name = name, KeyPrefix = name + ":", Backend = _backend, LockProvider = new MemcachedLockProvider(_backend) };
        configure(options);
        var region = new CacheRegion(options);
        _regions.Add(region);
        return new ValueTask<CacheRegion>(region);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (CacheRegion region in _regions)
        {
            await region.DisposeAsync();
        }

        _backend.Dispose();
    }
}
