using Dogpile;
using Packages.Web.Configuration;

namespace Packages.Web.Caching;

/// <summary>
/// Wires one <c>Cache:Backend</c> into the app: its services (connections, refresh queue, worker) and, per region,
/// the backend, cross-process lock and refresh runner. <see cref="CacheSetup.CreateBackendFactory"/> picks one.
/// </summary>
public interface ICacheBackendFactory
{
    /// <summary>
    /// Registers what the backend needs once per app: a shared connection, the queue runner when
    /// <see cref="CacheSettings.Refresh"/> is <see cref="RefreshMode.Queue"/>, a worker hosted service when
    /// <see cref="PackagesSettings.WorkerEnabled"/>, an <see cref="Metrics.IRefreshQueueDepth"/> for <c>/metrics</c>.
    /// Throw <see cref="StartupException"/> for settings this backend cannot honour.
    /// </summary>
    /// <param name="dogpile">The app's Dogpile registration (its <c>Services</c> are the app's).</param>
    /// <param name="settings">The app's settings.</param>
    void AddServices(IDogpileBuilder dogpile, PackagesSettings settings);

    /// <summary>
    /// Sets what the backend's own registration (<c>AddRedis</c>, <c>AddMemcached</c>) does not: for the memory backend,
    /// a <see cref="CacheRegionOptions.Backend"/> per region.
    /// </summary>
    /// <param name="region">The region's options; expiration and background refresh are already set.</param>
    /// <param name="settings">The app's settings.</param>
    /// <param name="services">The built service provider, to resolve what <see cref="AddServices"/> registered.</param>
    void ConfigureRegion(CacheRegionOptions region, PackagesSettings settings, IServiceProvider services);

    /// <summary>
    /// Whether <paramref name="error"/> (or one of its causes, asked one at a time) says the backend could not be
    /// reached or did not answer, so a request that needed it is answered 503 naming the backend, not 500.
    /// </summary>
    /// <param name="error">An exception a request ended with.</param>
    /// <returns>True for this backend's connection failures and timeouts.</returns>
    bool IsUnavailable(Exception error);

    /// <summary>Adds the backend's health checks to <c>/healthz</c> (none for the embedded memory backend).</summary>
    /// <param name="health">The app's health checks.</param>
    void AddHealthChecks(IHealthChecksBuilder health)
    {
    }
}

/// <summary>The embedded default: each region keeps its values in this process's memory and refreshes in-process.</summary>
internal sealed class MemoryBackendFactory : ICacheBackendFactory
{
    public void AddServices(IDogpileBuilder dogpile, PackagesSettings settings)
    {
        // PackagesSettings.Load already refused queue refresh and the worker without redis: nothing to add.
    }

    public void ConfigureRegion(CacheRegionOptions region, PackagesSettings settings, IServiceProvider services) =>
        region.Backend = new MemoryCacheBackend(MemoryCacheBackend.DefaultCapacity, services.GetRequiredService<TimeProvider>());

    // This process's memory is always there.
    public bool IsUnavailable(Exception error) => false;
}
