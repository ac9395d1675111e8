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

    /// <summary>Region of the package overviews (summary, description, links), one key per package.</summary>
    public const string InfoRegion = "info";

    /// <summary>Region of single bugs, one key per bug id.</summary>
    public const string BugRegion = "bug";

    // Each region caches one type, so each has one validator.
    private static readonly (string Name, Func<object?, bool> Validator)[] Regions =
    [
        (BugsRegion, CachedValues.IsValidBugList),
        (PackagesRegion, CachedValues.IsValidPackageIndex),
        (InfoRegion, CachedValues.IsValidPackageInfo),
        (BugRegion, CachedValues.IsValidBugDetail),
    ];

    /// <summary>
    /// The one place that maps <c>Cache:Backend</c> to its wiring: memory (embedded default), redis (shared backend,
    /// distributed lock and invalidation, optional durable refresh queue and worker) or memcached (shared backend and
    /// distributed lock, in-process refresh).
    /// </summary>
    /// <param name="backend">The configured backend.</param>
    /// <returns>The factory.</returns>
    public static ICacheBackendFactory CreateBackendFactory(CacheBackendKind backend) => backend switch
    {
        CacheBackendKind.Memory => new MemoryBackendFactory(),
        CacheBackendKind.Redis => new RedisBackendFactory(),
        CacheBackendKind.Memcached => new MemcachedBackendFactory(),
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
        var dogpile = services.AddDogpile();
        factory.AddServices(dogpile, settings);
        factory.AddHealthChecks(services.AddHealthChecks());

        foreach (var (name, validator) in Regions)
        {
            dogpile.AddRegion(name, o =>
            {
                o.Expiration = settings.Cache.Expiration;

                // A shared store can hand back bytes this app never wrote: strict parsing and a per-type check turn
                // anything that is not a valid value into a miss (see CachedValues).
                o.Serializer = CachedValues.Serializer;
                o.ValueValidator = validator;

                // The point of the app: once a value exists, nobody waits for the tracker again. The elected caller
                // gets the stale value too and the refresh runs in the background (dogpile's async creation runner).
                o.BackgroundRefresh = true;

                // Off unless configured, so the stale-while-revalidate story shows (see CacheSettings.EarlyRefreshRatio).
                o.EarlyRefreshRatio = settings.Cache.EarlyRefreshRatio;

                // Degrade (default): a dead cache backend slows pages down to the tracker's pace, never takes them down.
                o.BackendFailurePolicy = settings.Cache.FailurePolicy;

                // Expired values stay servable for a day: they are what users get while the tracker is down.
                o.StaleWindow = TimeSpan.FromDays(1);

                // Waiters for a first value give up a little after the upstream's own timeout, never before it.
                o.LockTimeout = settings.Upstream.Timeout + TimeSpan.FromSeconds(5);

                // /metrics reports hits from the region's statistics, so they are counted whether or not a metrics
                // listener is attached.
                o.CountHits = true;
            });
            services.AddOptions<CacheRegionOptions>(name)
                .Configure<IServiceProvider>((o, sp) => factory.ConfigureRegion(o, settings, sp));
        }

        services.AddSingleton(settings);
        services.AddSingleton(factory);
        services.AddSingleton(new UpstreamLocation(settings.Upstream.Url));
        services.AddSingleton(sp => new UpstreamClient(sp.GetRequiredService<UpstreamLocation>(), settings.Upstream.Timeout));
        services.AddSingleton(sp => new FetchTracker(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<PackageCache>();
    }
}
