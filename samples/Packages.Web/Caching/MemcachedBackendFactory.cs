using Dogpile;
using Dogpile.Memcached;
using Packages.Web.Configuration;

namespace Packages.Web.Caching;

/// <summary>
/// <c>Cache:Backend memcached</c>: <c>AddMemcached</c> registers one pooled, capped client per process shared by the backend and the cross-process
/// lock (add-with-lease, CAS-checked release). Refresh stays in process: the durable queue needs Redis.
/// </summary>
internal sealed class MemcachedBackendFactory : ICacheBackendFactory
{
    public void AddServices(IDogpileBuilder dogpile, PackagesSettings settings) => dogpile.AddMemcached(o =>
    {
        foreach (string endpoint in settings.Cache.Endpoints)
        {
            o.Client.Servers.Add(endpoint);
        }

        o.Backend.KeyPrefix = "packages:";
    });

    public void ConfigureRegion(CacheRegionOptions region, PackagesSettings settings, IServiceProvider services)
    {
        // AddMemcached gives every region the shared backend, the lock and the "{region}:" key prefix.
    }

    public void AddHealthChecks(IHealthChecksBuilder health) => health.AddDogpileMemcached();

    public bool IsUnavailable(Exception error) =>
        error is CacheBackendUnavailableException or MemcachedConnectionException or MemcachedTimeoutException or MemcachedServerUnavailableException;
}
