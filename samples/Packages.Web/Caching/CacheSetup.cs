using Microsoft.Extensions.Options;
using Dogpile;
using Packages.Web.Configuration;
using Packages.Web.Upstream;

namespace Packages.Web.Caching;

/// <summary>Registers the app's cache regions and cached functions on the configured backend.</summary>
public static class CacheSetup
{
    /// <summary>Region of the bug lists, one key per package.</summary>
    public const string BugsRegion = "bugs";

    /// <summary>Region of the package list (one key: the whole list; searches filter it in memory).</summary>
    public const string PackagesRegion = "packages";

    /// <summary>
    /// THE EXTENSION POINT for other backends: returns the factory for <c>Cache:Backend</c>. When Dogpile.Redis or
    /// Dogpile.Memcached is referenced, replace the matching <c>throw</c> with <c>new RedisBackendFactory()</c> /
    /// <c>new MemcachedBackendFactory()</c> (an <see cref="ICacheBackendFactory"/> that also registers the refresh
    /// queue and the worker for <c>Cache:Refresh queue</c> and <c>Worker:Enabled</c>).
    /// </summary>
    /// <param name="backend">The configured backend.</param>
    /// <returns>The factory.</returns>
    /// <exception cref="StartupException">The backend is not wired into this build.</exception>
    public static ICacheBackendFactory CreateBackendFactory(CacheBackendKind backend) => backend switch
    {
        CacheBackendKind.Memory => new MemoryBackendFactory(),
        CacheBackendKind.Redis => throw NotWired("redis", "Dogpile.Redis"),
        CacheBackendKind.Memcached => throw NotWired("memcached", "Dogpile.Memcached"),
        _ => throw new StartupException($"Cache:Backend {backend} is not known."),
    };

    /// <summary>Adds the regions, the upstream client and <see cref="PackageCache"/>.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="settings">The app's settings.</param>
    /// <exception cref="StartupException">The backend is not available or cannot honour the settings.</exception>
    public static void AddPackageCaching(IServiceCollection services, PackagesSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var factory = CreateBackendFactory(settings.Cache.Backend);
        factory.AddServices(services, settings);

        var dogpile = services.AddDogpile();
        foreach (var name in (string[])[BugsRegion, PackagesRegion])
        {
            dogpile.AddRegion(name, o =>
            {
                o.Expiration = settings.Cache.Expiration;

                // The point of the app: once a value exists, nobody waits for the tracker again. The elected caller
                // gets the stale value too and the refresh runs in the background (dogpile's async creation runner).
                o.BackgroundRefresh = true;

                // Expired values stay servable for a day: they are what users get while the tracker is down.
                o.StaleWindow = TimeSpan.FromDays(1);

                // Waiters for a first value give up a little after the upstream's own timeout, never before it.
                o.LockTimeout = settings.Upstream.Timeout + TimeSpan.FromSeconds(5);
            });
            services.AddOptions<CacheRegionOptions>(name)
                .Configure<IServiceProvider>((o, sp) => factory.ConfigureRegion(o, settings, sp));
        }

        services.AddSingleton(settings);
        services.AddSingleton(factory);
        services.AddSingleton(new UpstreamLocation(settings.Upstream.Url));
        services.AddSingleton(sp => new UpstreamClient(sp.GetRequiredService<UpstreamLocation>(), settings.Upstream.Timeout));
        services.AddSingleton<PackageCache>();
    }

    private static StartupException NotWired(string backend, string package) => new(
        $"Cache:Backend {backend} requires the {package} package wiring: not available in this build. " +
        $"Use Cache:Backend memory, or wire an ICacheBackendFactory for {backend} in Packages.Web.Caching.CacheSetup.CreateBackendFactory.");
}
