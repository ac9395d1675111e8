using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// The near cache in front of a shared backend, as the region uses it: reads of the backend fill it, this process's
/// writes go through it, and it answers while the backend fails. Owns the <see cref="NearCache"/>, whether it is keyed by
/// the caller's key (else by the backend key), and the change feed's subscription that keeps it coherent.
/// </summary>
internal sealed class NearLayer : IDisposable
{
    private readonly NearCache _cache;
    private readonly bool _byCallerKey;
    private readonly IDisposable? _subscription;
    private readonly RegionContext _context;
    private readonly EntryClassifier _classifier;
    private readonly ICacheBackend _backend;

    private NearLayer(NearCacheOptions options, RegionContext context, EntryClassifier classifier)
    {
        _context = context;
        _classifier = classifier;
        _backend = context.Backend;

        // Keyed by the caller's key, the near cache serves the inlined hit with no key to build. A feed's notices name
        // backend keys: mapped back by stripping the prefix, which a mangler makes impossible (then the backend key).
        ICacheChangeFeed? feed = _backend as ICacheChangeFeed;
        _byCallerKey = feed is null || !context.Keys.HasMangler;
        _cache = new NearCache(options, context.StaleWindow, feed is not null, context.Time, NearKeyOfBackendKey, Admit);
        _subscription = feed?.Subscribe(_cache);
    }

    /// <summary>The near cache's store.</summary>
    public MemoryCacheBackend Store => _cache.Store;

    /// <summary>Whether the near cache is keyed by the caller's key, so the inlined hit can peek it with no key to build.</summary>
    public bool ByCallerKey => _byCallerKey;

    public bool FeedLive => _cache.FeedLive;

    public int Count => _cache.Count;

    /// <summary>A near layer for a shared backend with the near cache on; <see langword="null"/> otherwise.</summary>
    public static NearLayer? Create(CacheRegionOptions options, RegionContext context, EntryClassifier classifier)
        => context.Memory is null && options.NearCache is { Enabled: true } nearOptions ? new NearLayer(nearOptions, context, classifier) : null;

    /// <summary>The key of the near cache: the caller's key, or the backend key when a feed must be mapped through a mangler.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public string NearKey(string key, string backendKey) => _byCallerKey ? key : backendKey;

    /// <summary>The key's near entry while it is trusted (as good as a read of the backend).</summary>
    public CacheEntry? GetTrusted(string key, string backendKey) => _cache.GetTrusted(NearKey(key, backendKey));

    /// <summary>
    /// A read of the backend (never of the near cache: re-reads under a lock must see the backend) whose entry the near
    /// cache keeps, unless a write or notice for the key came while it was in flight. When the read fails, the near
    /// cache's entry for the key answers instead, if it holds one (see <see cref="TryServeAfterReadFailure"/>).
    /// </summary>
    // Pooled box: every near miss suspends here for its round trip.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CacheEntry?> ReadThroughAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        string nearKey = NearKey(key, backendKey);
        long stamp = _cache.StampOf(nearKey);
        CacheEntry? entry;
        try
        {
            entry = await _backend.GetAsync(backendKey, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (TryServeAfterReadFailure(key, nearKey, ex, out CacheEntry? held))
        {
            return held;
        }

        if (entry is not null && !Admit(entry))
        {
            return entry;
        }

        _cache.Keep(nearKey, entry, stamp);
        return entry;
    }

    /// <summary>
    /// A first read of many keys: a key whose near entry is trusted and fresh is answered from it, the rest are read from
    /// the backend in one batch and kept (unless a write or notice for the key came meanwhile). When the batch fails, each
    /// key gets what the near cache holds for it, as a single read would. Never used for the re-read under the locks: that
    /// one must see the backend.
    /// </summary>
    public async ValueTask<CacheEntry?[]> ReadManyThroughAsync(IReadOnlyList<string> keys, string[] backendKeys, HeldValues held, CancellationToken cancellationToken)
    {
        var entries = new CacheEntry?[backendKeys.Length];
        var nearKeys = new string[backendKeys.Length];
        var stamps = new long[backendKeys.Length];
        var toRead = new List<int>(backendKeys.Length);
        long now = _context.Clock.CoarseUtcTicks;
        for (int i = 0; i < backendKeys.Length; i++)
        {
            nearKeys[i] = NearKey(keys[i], backendKeys[i]);
            if (_cache.GetTrusted(nearKeys[i]) is { } trusted && _context.Marks.ServesAsHit(trusted, now))
            {
                entries[i] = trusted;
            }
            else
            {
                stamps[i] = _cache.StampOf(nearKeys[i]);
                toRead.Add(i);
            }
        }

        if (toRead.Count == 0)
        {
            return entries;
        }

        string[] readKeys = new string[toRead.Count];
        for (int j = 0; j < readKeys.Length; j++)
        {
            readKeys[j] = backendKeys[toRead[j]];
        }

        CacheEntry?[] read;
        try
        {
            read = await _backend.GetManyAsync(readKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            _context.CountUnreadable(string.Join(",", keys), ex);
            return entries;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Like a failed single read: what the near cache holds answers; under Degrade, then what was created here.
            bool degrade = held.Degrades(ex);
            if (degrade)
            {
                _ = held.OnBackendReadFailed(string.Join(",", keys), ex);
            }

            bool any = false;
            foreach (int i in toRead)
            {
                entries[i] = _cache.GetHeld(nearKeys[i]) ?? (degrade ? held.DuringOutage(keys[i]) : null);
                any |= entries[i] is not null;
            }

            if (!degrade && !any)
            {
                throw;
            }

            Log.ServedFromNearCache(_context.Logger, ex, _context.Name, string.Join(",", keys));
            return entries;
        }

        for (int j = 0; j < read.Length; j++)
        {
            int i = toRead[j];
            entries[i] = read[j];
            if (read[j] is null || Admit(read[j]!))
            {
                _cache.Keep(nearKeys[i], read[j], stamps[i]);
            }
        }

        return entries;
    }

    /// <summary>Awaits a write of this process and then updates the near cache: the new entry once stored, an eviction if it failed.</summary>
    public async ValueTask WriteThroughAfterAsync(ValueTask write, string key, string backendKey, CacheEntry entry)
    {
        bool written = false;
        try
        {
            await write.ConfigureAwait(false);
            written = true;
        }
        finally
        {
            _context.SharedReads.Forget(backendKey);
            AfterWrite(key, backendKey, written ? entry : null);
        }
    }

    /// <summary>Awaits a multi-key write or removal, then drops its keys from the near cache, whatever the outcome.</summary>
    public async ValueTask EvictAfterAsync(ValueTask write, IReadOnlyList<string> keys, IReadOnlyList<string> backendKeys)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            AfterWrites(keys, backendKeys);
        }
    }

    /// <summary>
    /// After a write of this process: the near cache holds <paramref name="stored"/> (the entry the backend now holds), or
    /// drops the key when the write failed, was superseded, or wrote many keys at once. The one place that decides what
    /// the near cache holds after a write.
    /// </summary>
    public void AfterWrite(string key, string backendKey, CacheEntry? stored)
    {
        string nearKey = NearKey(key, backendKey);
        if (stored is null)
        {
            _cache.Evict(nearKey);
        }
        else
        {
            _cache.WriteThrough(nearKey, stored);
        }
    }

    /// <summary>After writes or removals of many keys: the near cache drops them (their next read fills it again).</summary>
    public void AfterWrites(IReadOnlyList<string> keys, IReadOnlyList<string> backendKeys)
    {
        for (int i = 0; i < keys.Count; i++)
        {
            _cache.Evict(NearKey(keys[i], backendKeys[i]));
        }
    }

    /// <summary>The key was removed: its near entry goes.</summary>
    public void Evict(string key, string backendKey) => _cache.Evict(NearKey(key, backendKey));

    public void Dispose() => _subscription?.Dispose();

    /// <summary>A change feed's backend key as this region's near key; null for a key of another region (another prefix).</summary>
    private string? NearKeyOfBackendKey(string backendKey)
    {
        if (!_byCallerKey || _context.Keys.Prefix is not { } prefix)
        {
            return backendKey;
        }

        return backendKey.StartsWith(prefix, StringComparison.Ordinal) ? backendKey[prefix.Length..] : null;
    }

    /// <summary>
    /// Readies an entry from the backend (read, or carried by a change notice) for the near cache; false when it must not
    /// be kept there.
    /// </summary>
    private bool Admit(CacheEntry entry)
    {
        if (_classifier.IsStampedInTheFuture(entry, _context.Clock.CoarseUtcTicks))
        {
            // Judged on every read until a truthful refresh replaces it: never trusted as a near entry.
            return false;
        }

        if (_context.EarlyRatio > 0 && !entry.Lifetime.IsNever && entry.HitUntilUtcTicks == entry.FreshUntilUtcTicks)
        {
            // The inlined hit serves a near entry until HitUntil: there it must stop at the early refresh point.
            entry.HitUntilUtcTicks = _classifier.EarlyRefreshPoint(entry);
        }

        return true;
    }

    /// <summary>
    /// The backend read failed: the near cache's entry for the key, fresh or stale, trusted or not, answers instead (the
    /// caller judges it as any read: fresh, stale within MaxStaleness, or too old). False rethrows.
    /// </summary>
    private bool TryServeAfterReadFailure(string key, string nearKey, Exception ex, out CacheEntry? held)
    {
        held = null;
        if (ex is OperationCanceledException or CacheSerializationException || _cache.GetHeld(nearKey) is not { } entry)
        {
            return false;
        }

        held = entry;
        Log.ServedFromNearCache(_context.Logger, ex, _context.Name, key);
        return true;
    }
}
