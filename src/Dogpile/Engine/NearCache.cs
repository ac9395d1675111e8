using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// A region's near cache: the entries of a shared backend this process read or wrote, decoded, in a bounded memory store
/// keyed by the near key (the caller's key, or the backend key where a change feed must be mapped through a mangler).
/// Each entry is stored with the time it is trusted as its time to live: its own (backend) time to live while a change
/// feed is live, at most <see cref="NearCacheOptions.Duration"/> otherwise. Trusted entries are served as reads; any
/// entry still held is served while the backend fails.
/// </summary>
/// <remarks>
/// A read of the backend races with the notices of writes made while it was in flight: it may return the value a notice
/// has just evicted. So every eviction, write-through and feed reset bumps a stamp (one per stripe of keys), a reader
/// takes the stamp before its read, and its entry is kept only if the stamp has not moved: a process never serves a value
/// older than a newer write it has been told about.
/// </remarks>
internal sealed class NearCache : ICacheChangeObserver
{
    private const int StripeCount = 256;

    private readonly MemoryCacheBackend _store;
    private readonly RegionClock _clock;
    private readonly long _durationTicks;
    private readonly long _staleWindowTicks;
    private readonly bool _hasFeed;
    private readonly Func<string, string?> _nearKeyOfBackendKey;
    private readonly Func<CacheEntry, bool> _admit;
    private readonly long[] _stamps = new long[StripeCount];
    private volatile bool _feedLive;

    /// <param name="options">Capacity and trust duration.</param>
    /// <param name="staleWindow">The region's: with the backend's time to live it says when the backend drops an entry.</param>
    /// <param name="hasFeed">Whether the backend announces changes.</param>
    /// <param name="time">The region's clock.</param>
    /// <param name="nearKeyOfBackendKey">Maps a notice's backend key to the near key; null for a key of another region.</param>
    /// <param name="admit">Prepares an entry a notice carries for the near cache; false when it must not be kept (it is evicted).</param>
    public NearCache(NearCacheOptions options, TimeSpan staleWindow, bool hasFeed, TimeProvider time, Func<string, string?> nearKeyOfBackendKey, Func<CacheEntry, bool> admit)
    {
        _admit = admit;
        _store = new MemoryCacheBackend(new MemoryCacheBackendOptions { Capacity = options.Capacity }, time);
        _clock = new RegionClock(time);
        _durationTicks = options.Duration.Ticks;
        _staleWindowTicks = staleWindow.Ticks;
        _hasFeed = hasFeed;
        _nearKeyOfBackendKey = nearKeyOfBackendKey;
    }

    /// <summary>The store, for the region's inlined hit path (keyed by the caller's key).</summary>
    public MemoryCacheBackend Store => _store;

    /// <summary>Whether entries are trusted for their own freshness now: a change feed is live.</summary>
    public bool FeedLive => _feedLive;

    /// <summary>The number of entries held.</summary>
    public int Count => _store.Count;

    /// <summary>The entry, while it is trusted; null sends the caller to the backend.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CacheEntry? GetTrusted(string nearKey) => _store.PeekForHit(nearKey, _clock.CoarseUtcTicks);

    /// <summary>The entry held for the key, trusted or not: what is served while the backend fails.</summary>
    public CacheEntry? GetHeld(string nearKey) => _store.PeekAny(nearKey);

    /// <summary>Taken before a backend read whose result may be kept (<see cref="Keep"/>).</summary>
    public long StampOf(string nearKey) => Volatile.Read(ref _stamps[StripeOf(nearKey)]);

    /// <summary>
    /// Keeps what a backend read returned (null: the key is gone), unless a write or notice for the key came since
    /// <paramref name="stamp"/> was taken: the read may predate it.
    /// </summary>
    public void Keep(string nearKey, CacheEntry? entry, long stamp)
    {
        ref long slot = ref _stamps[StripeOf(nearKey)];
        if (entry is null)
        {
            _store.Evict(nearKey);
            return;
        }

        if (Volatile.Read(ref slot) != stamp)
        {
            return;
        }

        _store.Put(nearKey, entry, TrustedUntil(entry));

        // A notice that landed between the check and the store: its eviction must win.
        if (Volatile.Read(ref slot) != stamp)
        {
            _store.Evict(nearKey);
        }
    }

    /// <summary>A write of this process reached the backend (or, in degraded mode, could not): the entry replaces the held one.</summary>
    public void WriteThrough(string nearKey, CacheEntry entry)
    {
        Interlocked.Increment(ref _stamps[StripeOf(nearKey)]);
        _store.Put(nearKey, entry, TrustedUntil(entry));
    }

    /// <summary>The key changed or is unknown now (a removal, a superseded or failed write, a notice): drop it.</summary>
    public void Evict(string nearKey)
    {
        Interlocked.Increment(ref _stamps[StripeOf(nearKey)]);
        _store.Evict(nearKey);
    }

    /// <summary>
    /// Trusts nothing held now (every key's next read goes to the backend), and every read in flight loses its right to be
    /// kept. The entries stay, to be served only while the backend fails.
    /// </summary>
    public void DistrustAll()
    {
        for (int i = 0; i < _stamps.Length; i++)
        {
            Interlocked.Increment(ref _stamps[i]);
        }

        // Not "now": the inlined hit compares with the coarse clock, which may lag the precise one by a millisecond.
        _store.ExpireAll(long.MinValue);
    }

    /// <inheritdoc />
    public void OnChanged(string key, CacheEntry? entry)
    {
        if (_nearKeyOfBackendKey(key) is not { } nearKey)
        {
            return;
        }

        // Notices arrive in the order the backend applied the writes: the one a notice carries is the newest. Taking it
        // saves the next reader a round trip, which is most of the time until the new value is served here.
        if (entry is not null && _admit(entry))
        {
            WriteThrough(nearKey, entry);
        }
        else
        {
            Evict(nearKey);
        }
    }

    /// <inheritdoc />
    public void OnInterrupted()
    {
        // From now on notices may be lost: what is held may be outdated, and new entries are trusted briefly. Held entries
        // stay for an outage (the subscription usually fails because the server did).
        _feedLive = false;
        DistrustAll();
    }

    /// <inheritdoc />
    public void OnResumed()
    {
        // Notices sent while the feed was down are lost: nothing held before is trusted (values created during an outage
        // included: the backend's newer values win from now on).
        DistrustAll();
        _feedLive = true;
    }

    /// <summary>
    /// When the entry stops being trusted: when the backend drops it (created + expiration + stale window) with a live
    /// feed, and no later than <see cref="NearCacheOptions.Duration"/> from now without one.
    /// </summary>
    private long TrustedUntil(CacheEntry entry)
    {
        long dropped = entry.Lifetime.DropAt(entry.CreatedUtcTicks, _staleWindowTicks);
        if (_hasFeed && _feedLive)
        {
            return dropped;
        }

        long bound = Add(_clock.PreciseUtcTicks, _durationTicks);
        return Math.Min(dropped, bound);
    }

    private static long Add(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;

    private static int StripeOf(string key) => (int)((uint)key.GetHashCode() % StripeCount);
}
