namespace Dogpile;

/// <summary>How far a region's near cache is trusted now (see <see cref="CacheRegionStatistics.NearCache"/>).</summary>
public enum NearCacheState
{
    /// <summary>The region has no near cache: the embedded memory backend, or <see cref="NearCacheOptions.Enabled"/> off.</summary>
    Off,

    /// <summary>The backend's change feed is live: entries are trusted for their own freshness, and other processes' writes reach them.</summary>
    Coherent,

    /// <summary>
    /// The backend has no change feed (memcached) or its feed is down (Redis's subscription lost): each entry is trusted
    /// for at most <see cref="NearCacheOptions.Duration"/>, the bound on how long another process's write can go unseen.
    /// </summary>
    TimeBounded,
}
