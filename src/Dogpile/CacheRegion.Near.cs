using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// The near cache in front of a shared backend: reads of the backend fill it, this process's writes go through it, and
// it answers while the backend fails.
public sealed partial class CacheRegion
{
    /// <summary>The key of the near cache: the caller's key, or the backend key when a feed must be mapped through a mangler.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private string NearKey(string key, string backendKey) => _nearByCallerKey ? key : backendKey;

    /// <summary>A change feed's backend key as this region's near key; null for a key of another region (another prefix).</summary>
    private string? NearKeyOfBackendKey(string backendKey)
    {
        if (!_nearByCallerKey || _keys.Prefix is not { } prefix)
        {
            return backendKey;
        }

        return backendKey.StartsWith(prefix, StringComparison.Ordinal) ? backendKey[prefix.Length..] : null;
    }

    /// <summary>
    /// A read of the backend (never of the near cache: re-reads under a lock must see the backend) whose entry the near
    /// cache keeps, unless a write or notice for the key came while it was in flight. When the read fails, the near
    /// cache's entry for the key answers instead, if it holds one (see <see cref="TryServeNearAfterReadFailure"/>).
    /// </summary>
    // Pooled box: every near miss suspends here for its round trip.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CacheEntry?> ReadThroughNearAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        NearCache near = _near!;
        string nearKey = NearKey(key, backendKey);
        long stamp = near.StampOf(nearKey);
        CacheEntry? entry;
        try
        {
            entry = await _backend.GetAsync(backendKey, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (TryServeNearAfterReadFailure(key, nearKey, ex, out CacheEntry? held))
        {
            return held;
        }

        if (entry is not null && !AdmitToNear(entry))
        {
            return entry;
        }

        near.Keep(nearKey, entry, stamp);
        return entry;
    }

    /// <summary>
    /// Readies an entry from the backend (read, or carried by a change notice) for the near cache; false when it must not
    /// be kept there.
    /// </summary>
    private bool AdmitToNear(CacheEntry entry)
    {
        if (IsStampedInTheFuture(entry, _clock.CoarseUtcTicks))
        {
            // Judged on every read until a truthful refresh replaces it: never trusted as a near entry.
            return false;
        }

        if (_earlyRatio > 0 && !entry.Lifetime.IsNever && entry.HitUntilUtcTicks == entry.FreshUntilUtcTicks)
        {
            // The inlined hit serves a near entry until HitUntil: there it must stop at the early refresh point.
            entry.HitUntilUtcTicks = EarlyRefreshPoint(entry);
        }

        return true;
    }

    /// <summary>
    /// The backend read failed: the near cache's entry for the key, fresh or stale, trusted or not, answers instead (the
    /// caller judges it as any read: fresh, stale within MaxStaleness, or too old). False rethrows.
    /// </summary>
    private bool TryServeNearAfterReadFailure(string key, string nearKey, Exception ex, out CacheEntry? held)
    {
        held = null;
        if (ex is OperationCanceledException or CacheSerializationException || _near!.GetHeld(nearKey) is not { } entry)
        {
            return false;
        }

        held = entry;
        Log.ServedFromNearCache(_logger, ex, Name, key);
        return true;
    }

    /// <summary>Awaits a write of this process and then updates the near cache: the new entry once stored, an eviction if it failed.</summary>
    private async ValueTask WriteThroughNearAfterAsync(ValueTask write, string key, string backendKey, CacheEntry entry)
    {
        bool written = false;
        try
        {
            await write.ConfigureAwait(false);
            written = true;
        }
        finally
        {
            _sharedReads.Forget(backendKey);
            AfterWrite(key, backendKey, written ? entry : null);
        }
    }

    /// <summary>
    /// After a write of this process: the near cache holds <paramref name="stored"/> (the entry the backend now holds), or
    /// drops the key when the write failed, was superseded, or wrote many keys at once. The one place that decides what
    /// the near cache holds after a write.
    /// </summary>
    private void AfterWrite(string key, string backendKey, CacheEntry? stored)
    {
        if (_near is not { } near)
        {
            return;
        }

        string nearKey = NearKey(key, backendKey);
        if (stored is null)
        {
            near.Evict(nearKey);
        }
        else
        {
            near.WriteThrough(nearKey, stored);
        }
    }

    /// <summary>After writes or removals of many keys: the near cache drops them (their next read fills it again).</summary>
    private void AfterWrites(IReadOnlyList<string> keys, IReadOnlyList<string> backendKeys)
    {
        if (_near is { } near)
        {
            for (int i = 0; i < keys.Count; i++)
            {
                near.Evict(NearKey(keys[i], backendKeys[i]));
            }
        }
    }
}
