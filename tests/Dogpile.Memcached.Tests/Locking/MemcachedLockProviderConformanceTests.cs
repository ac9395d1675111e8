using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Locking;

/// <summary>The lock-provider contract on a real memcached: each provider has a client (and sockets) of its own.</summary>
public sealed class MemcachedLockProviderConformanceTests(MemcachedServer server) : LockProviderConformanceTests, IClassFixture<MemcachedServer>, IDisposable
{
    private readonly List<MemcachedLockProvider> _providers = [];
    private readonly MemcachedClient _admin = new(new MemcachedClientOptions { Servers = { server.Endpoint } });
    private readonly MemcachedCacheBackend _backend = new(new MemcachedClientOptions { Servers = { server.Endpoint } });

    protected override ICacheBackend Backend => _backend;

    // memcached has no atomic counter tied to the lock's lifetime: the provider hands out no fences.
    protected override bool HasFencingTokens => false;

    protected override ValueTask<ICacheLockProvider> CreateProviderAsync(TimeProvider time)
    {
        var provider = new MemcachedLockProvider(new MemcachedClientOptions { Servers = { server.Endpoint } }, new MemcachedLockOptions(), time);
        _providers.Add(provider);
        return new ValueTask<ICacheLockProvider>(provider);
    }

    protected override async ValueTask ExpireLeaseAsync(string key)
        => Assert.Equal(MemcachedDeleteStatus.Deleted, await _admin.DeleteAsync(_providers[0].LockKeyFor(key)));

    public void Dispose()
    {
        foreach (MemcachedLockProvider provider in _providers)
        {
            provider.Dispose();
        }

        _admin.Dispose();
        _backend.Dispose();
    }
}
