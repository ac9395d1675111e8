using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Backend;

/// <summary>The shared backend contract against a real memcached.</summary>
public sealed class MemcachedBackendConformanceTests(MemcachedServer server) : CacheBackendConformanceTests, IClassFixture<MemcachedServer>, IDisposable
{
    private readonly List<MemcachedCacheBackend> _backends = [];

    protected override ICacheBackend CreateBackend()
    {
        var options = new MemcachedClientOptions { Servers = { server.Endpoint } };
        var backend = new MemcachedCacheBackend(options);
        _backends.Add(backend);
        return backend;
    }

    // memcached enforces TTLs on its own clock, in whole seconds: only real time passing expires an entry.
    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public void Dispose()
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
    }
}

/// <summary>The same contract with the backend's own key prefix, which shrinks the key budget.</summary>
public sealed class PrefixedMemcachedBackendConformanceTests(MemcachedServer server) : CacheBackendConformanceTests, IClassFixture<MemcachedServer>, IDisposable
{
    private readonly List<MemcachedCacheBackend> _backends = [];

    protected override ICacheBackend CreateBackend()
    {
        var backend = new MemcachedCacheBackend(
            new MemcachedClientOptions { Servers = { server.Endpoint } },
            new MemcachedCacheBackendOptions { KeyPrefix = "app1/" });
        _backends.Add(backend);
        return backend;
    }

    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public void Dispose()
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
    }
}
