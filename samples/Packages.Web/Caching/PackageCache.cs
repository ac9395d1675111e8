using System.Globalization;
using Dogpile;
using Packages.Web.Upstream;

namespace Packages.Web.Caching;

/// <summary>The app's cached upstream calls: dogpile's <c>cache_on_arguments</c> over the tracker client, one region each.</summary>
public sealed class PackageCache
{
    private const string AllPackages = "all";

    private readonly CachedFunction<string, BugList> _bugs;
    private readonly CachedFunction<string, PackageIndex> _packages;
    private readonly CachedFunction<string, PackageInfo> _info;
    private readonly CachedFunction<string, BugDetail> _bug;

    /// <summary>Creates the cached functions in their regions.</summary>
    /// <param name="regions">The registered regions.</param>
    /// <param name="upstream">The tracker client.</param>
    /// <param name="tracker">Marks which request ran a creator and remembers failing keys, for the cache badges.</param>
    public PackageCache(ICacheRegionProvider regions, UpstreamClient upstream, FetchTracker tracker)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(tracker);
        Tracker = tracker;
        Bugs = regions.GetRegion(CacheSetup.BugsRegion);
        Packages = regions.GetRegion(CacheSetup.PackagesRegion);
        Info = regions.GetRegion(CacheSetup.InfoRegion);
        Bug = regions.GetRegion(CacheSetup.BugRegion);

        // Registered by name, so a queue worker in another process can run the same refresh from the arguments.
        _bugs = Bugs.CreateFunction("bugs", tracker.Wrap<string, BugList>(CacheSetup.BugsRegion, upstream.GetBugsAsync));
        _packages = Packages.CreateFunction("packages", tracker.Wrap<string, PackageIndex>(CacheSetup.PackagesRegion, (_, ct) => upstream.GetPackagesAsync(ct)));
        _info = Info.CreateFunction("info", tracker.Wrap<string, PackageInfo>(CacheSetup.InfoRegion, upstream.GetInfoAsync));

        // The id travels as its decimal text, so the key and the queued job's argument are plain strings.
        _bug = Bug.CreateFunction("bug", tracker.Wrap<string, BugDetail>(
            CacheSetup.BugRegion, (id, ct) => upstream.GetBugAsync(long.Parse(id, CultureInfo.InvariantCulture), ct)));
    }

    /// <summary>The bug-list region.</summary>
    public CacheRegion Bugs { get; }

    /// <summary>The package-list region.</summary>
    public CacheRegion Packages { get; }

    /// <summary>The package-overview region.</summary>
    public CacheRegion Info { get; }

    /// <summary>The single-bug region.</summary>
    public CacheRegion Bug { get; }

    /// <summary>Which lookups ran a creator, and which keys' tracker calls are failing.</summary>
    public FetchTracker Tracker { get; }

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

    /// <summary>A package's overview with how it was served.</summary>
    /// <param name="package">A valid package name.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The cached overview.</returns>
    /// <exception cref="UpstreamException">Nothing is cached and the tracker failed.</exception>
    public ValueTask<CacheItem<PackageInfo>> GetInfoAsync(string package, CancellationToken cancellationToken) =>
        _info.InvokeItemAsync(package, cancellationToken);

    /// <summary>One bug with how it was served.</summary>
    /// <param name="id">A positive bug number.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The cached bug.</returns>
    /// <exception cref="UpstreamException">Nothing is cached and the tracker failed.</exception>
    public ValueTask<CacheItem<BugDetail>> GetBugAsync(long id, CancellationToken cancellationToken) =>
        _bug.InvokeItemAsync(id.ToString(CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>Drops a package's cached bug list, so the next request is a miss (the status page's stampede).</summary>
    /// <param name="package">A valid package name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether an entry was removed.</returns>
    public ValueTask<bool> ForgetBugsAsync(string package, CancellationToken cancellationToken) =>
        _bugs.InvalidateAsync(package, cancellationToken);
}
