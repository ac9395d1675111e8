using Dogpile.Internal;

namespace Dogpile;

/// <summary>
/// The near cache of a region on a shared backend (Redis, memcached): each process keeps the decoded values it read or
/// wrote in a bounded in-process store, with their freshness metadata, so a fresh hit is the in-process hit (synchronous,
/// no allocation) instead of a round trip. Bindable from configuration (<c>NearCache:Enabled</c>, <c>NearCache:Capacity</c>,
/// <c>NearCache:Duration</c>).
/// </summary>
/// <remarks>
/// <para>Coherence: with a backend that publishes its changes (<see cref="ICacheChangeFeed"/>: Redis), every write and
/// removal from any process evicts the key from every near cache, and the whole near cache is dropped whenever the
/// feed was interrupted (messages may have been lost): an entry is then trusted for its own freshness. With a backend
/// that cannot (memcached), an entry is trusted for at most <see cref="Duration"/> before the backend is read again:
/// that is the bound on how long another process's write may go unseen.</para>
/// <para>While the backend fails, a key this process holds is served from here (fresh, or stale within
/// <see cref="CacheRegionOptions.MaxStaleness"/>), whatever its trust.</para>
/// </remarks>
public sealed class NearCacheOptions : ICheckedOptions
{
    /// <summary>The default <see cref="Duration"/>: one second.</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(1);

    /// <summary>Whether the region keeps a near cache. Ignored for the in-process memory backend, which is one already.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>The most entries kept per region; past it the least recently used ones (approximately) are evicted.</summary>
    /// <value>Default: 10,000.</value>
    public int Capacity { get; set; } = 10_000;

    /// <summary>
    /// How long an entry is trusted without reading the backend again, when the backend has no change feed (memcached):
    /// the bound on how long a write by another process may go unseen here. Unused with a change feed (Redis).
    /// </summary>
    /// <value>Default: <see cref="DefaultDuration"/> (1 second).</value>
    public TimeSpan Duration { get; set; } = DefaultDuration;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(NearCacheOptions));
        check.AtLeast(Capacity, 1, nameof(Capacity));
        check.Positive(Duration, nameof(Duration));
        return check;
    }
}
