using Dogpile;
using Packages.Web.Upstream;

namespace Packages.Web.Caching;

/// <summary>The app's two cached upstream calls: dogpile's <c>cache_on_arguments</c> over the tracker client.</summary>
public sealed class PackageCache
{
    private const string AllPackages = "all";

    private readonly CachedFunction<string, BugList> _bugs;
    private readonly CachedFunction<string, PackageIndex> _packages;

    /// <summary>Creates the cached functions in their regions.</summary>
    /// <param name="regions">The registered regions.</param>
    /// <param name="upstream">The tracker client.</param>
    public PackageCache(ICacheRegionProvider regions, UpstreamClient upstream)
    {
        ArgumentNullException.ThrowIfNull(regions);
        Bugs = regions.GetRegion(CacheSetup.BugsRegion);
        Packages = regions.GetRegion(CacheSetup.PackagesRegion);

        // Registered by name, so a queue worker in another process can run the same refresh from the arguments.
        _bugs = Bugs.CreateFunction<string, BugList>("bugs", upstream.GetBugsAsync);
        _packages = Packages.CreateFunction<string, PackageIndex>("packages", (_, ct) => upstream.GetPackagesAsync(ct));
    }

    /// <summary>The bug-list region.</summary>
    public CacheRegion Bugs { get; }

    /// <summary>The package-list region.</summary>
    public CacheRegion Packages { get; }

    /// <summary>A package's bugs with how they were served (hit, stale, miss) and their age.</summary>
    /// <param name="package">A valid package name.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The cached answer.</returns>
    /// <exception cref="UpstreamException">Nothing is cached and the tracker failed.</exception>
    public ValueTask<CacheItem<BugList>> GetBugsAsync(string package, CancellationToken cancellationToken) =>
        _bugs.InvokeItemAsync(package, cancellationToken);

    /// <summary>The package list with how it was served.</summary>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The cached list.</returns>
    /// <exception cref="UpstreamException">Nothing is cached and the tracker failed.</exception>
    public ValueTask<CacheItem<PackageIndex>> GetPackagesAsync(CancellationToken cancellationToken) =>
        _packages.InvokeItemAsync(AllPackages, cancellationToken);
}
