using Dogpile;
using Dogpile.Memcached;
using Packages.Web.Configuration;

namespace Packages.Web.Caching;

/// <summary>
/// <c>Cache:Backend memcached</c>: one pooled, capped client per process shared by the backend and the cross-process
/// lock (add-with-lease, CAS-checked release). Refresh stays in process: the durable queue needs Redis.
/// </summary>
internal sealed class MemcachedBackendFactory : ICacheBackendFactory
{
    public void AddServices(IServiceCollection services, PackagesSettings settings)
    {
        services.AddSingleton(sp =>
        {
            var options = new MemcachedClientOptions();
            foreach (string endpoint in settings.Cache.Endpoints)
            {
                options.Servers.Add(endpoint);
            }

            return new MemcachedCacheBackend(
                options,
                new MemcachedCacheBackendOptions { KeyPrefix = "packages:" },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>());
        });
        services.AddSingleton(sp => new MemcachedLockProvider(
            sp.GetRequiredService<MemcachedCacheBackend>(),
            new MemcachedLockOptions(),
            sp.GetRequiredService<TimeProvider>()));
    }

    public void ConfigureRegion(CacheRegionOptions region, PackagesSettings settings, IServiceProvider services)
    {
        region.Backend = services.GetRequiredService<MemcachedCacheBackend>();
        region.LockProvider = services.GetRequiredService<MemcachedLockProvider>();
        region.KeyPrefix ??= region.Name + ":";
    }

    public bool IsUnavailable(Exception error) =>
        error is MemcachedConnectionException or MemcachedTimeoutException or MemcachedServerUnavailableException;
}
