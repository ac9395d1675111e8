using System.Buffers;
using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// How a stored entry is judged at read time: fresh, stale, too stale to serve (fallback only) or missing.
public sealed partial class CacheRegion
{
    private readonly struct Lookup<T>
    {
        public Lookup(EntryState state, CacheEntry? entry, T value)
        {
            State = state;
            Entry = entry;
            Value = value;
        }

        public EntryState State { get; }

        public CacheEntry? Entry { get; }

        public T Value { get; }

        public bool HasValue => State != EntryState.Missing;

        public bool IsFresh => State is EntryState.Fresh or EntryState.FreshEarly;

        public static Lookup<T> Missing => default;
    }

    /// <summary>The hit test of the hot path: a fresh, readable, not-invalidated entry that needs no early refresh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetFresh<T>(CacheEntry? entry, out T value)
    {
        if (entry is not null && entry.CreatedUtcTicks > _marks.Any && (entry.TagArray is null || TagsAllowHit(entry)))
        {
            long now = _clock.CoarseUtcTicks;
            if (now < entry.FreshUntilUtcTicks
                && (_storesObjects || !IsStampedInTheFuture(entry, now))
                && (!_earlyRefreshEnabled || !NeedsEarlyRefresh(entry, now)))
            {
                return TryCast(_storesObjects ? entry.Value : entry.Decoded, out value);
            }
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// <c>stored is T</c>, cheaper for the common case: in shared generic code a cast to a reference type calls a
    /// runtime helper, while comparing the exact type is one load and one compare. Subtypes fall back to the cast.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryCast<T>(object? stored, out T value)
    {
        if (!typeof(T).IsValueType && stored is not null && stored.GetType() == typeof(T))
        {
            value = Unsafe.As<object, T>(ref stored);
            return true;
        }

        if (stored is T typed)
        {
            value = typed;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// The stale hit of the hot path: a stale value whose refresh is already running (or backing off after a
    /// failure) is served synchronously, with no allocation: there is nothing for this caller to elect.
    /// </summary>
    private bool TryGetStaleWhileBusy<T>(CacheEntry? entry, string backendKey, out T value)
    {
        if (entry is not null && entry.CreatedUtcTicks > HardMarkOf(entry))
        {
            object? stored = _storesObjects ? entry.Value : entry.Decoded;
            if (stored is T typed)
            {
                long now = _clock.CoarseUtcTicks;
                long softMark = SoftMarkOf(entry);
                long staleSince = entry.CreatedUtcTicks <= softMark ? Math.Min(entry.FreshUntilUtcTicks, softMark) : entry.FreshUntilUtcTicks;
                if (now >= staleSince && now - staleSince <= _maxStalenessTicks
                    && EntryPolicy.Decide(EntryState.Stale, IsBackingOff(backendKey, now), _gates.IsBusy(backendKey), _backgroundRefresh) == ReadAction.ServeStale)
                {
                    value = typed;
                    return true;
                }
            }
        }

        value = default!;
        return false;
    }

    /// <summary>Reads the key now (never a shared read) and classifies what is there.</summary>
    /// <remarks>Under Degrade, an unavailable backend reads as a miss (see <see cref="OnBackendReadFailed"/>).</remarks>
    private async ValueTask<Lookup<T>> ReadLookupAsync<T>(string key, string backendKey, CancellationToken cancellationToken)
    {
        (CacheEntry? entry, _) = await ReadOrDegradeAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        return Classify<T>(key, entry, _clock.CoarseUtcTicks);
    }

    private Lookup<T> Classify<T>(string key, CacheEntry? entry, long now)
    {
        if (entry is null && !_unstored.IsEmpty)
        {
            // A value the backend could not store lives in this process instead: it is judged like any other.
            entry = _unstored.Get(key, now);
        }

        if (entry is null || entry.CreatedUtcTicks <= HardMarkOf(entry))
        {
            return Lookup<T>.Missing;
        }

        if (!TryDecode(key, entry, out T value))
        {
            return Lookup<T>.Missing;
        }

        long freshUntil = entry.FreshUntilUtcTicks;
        if (!_storesObjects && IsStampedInTheFuture(entry, now))
        {
            // Stamped in the future by a writer with a fast clock: trusted, it would stay fresh for everyone until the
            // store's TTL. Freshness is judged by this reader's clock: the value counts as expired now, so it is still
            // served (stale) while one refresh replaces it with a truthfully stamped one.
            NoteFutureStamp(key, entry, now);
            freshUntil = now;
        }

        long softMark = SoftMarkOf(entry);
        bool softInvalidated = entry.CreatedUtcTicks <= softMark;
        if (!softInvalidated && now < freshUntil)
        {
            return new Lookup<T>(NeedsEarlyRefresh(entry, now) ? EntryState.FreshEarly : EntryState.Fresh, entry, value);
        }

        long staleSince = softInvalidated ? Math.Min(freshUntil, softMark) : freshUntil;
        long staleFor = now - staleSince;
        if (staleFor <= _maxStalenessTicks)
        {
            return new Lookup<T>(EntryState.Stale, entry, value);
        }

        return staleFor <= _staleWindowTicks ? new Lookup<T>(EntryState.TooStale, entry, value) : Lookup<T>.Missing;
    }

    /// <summary>
    /// Whether the entry's created time is later than any writer could truthfully stamp it: past this reader's clock
    /// (or the latest invalidation mark, since a value created after a mark is stamped after it) by more than the
    /// tolerated skew. Values stamped in this process never are; live objects of the memory backend are not checked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsStampedInTheFuture(CacheEntry entry, long now)
        => entry.CreatedUtcTicks > Math.Max(now, _marks.StampFloor) + MaxClockSkewTicks;

    private void NoteFutureStamp(string key, CacheEntry entry, long now)
    {
        // At most one line per interval: every reader of a hot key meets the entry until its refresh lands.
        long last = Volatile.Read(ref _lastFutureStampLog);
        if (now - last >= TimeSpan.TicksPerSecond * 10 && Interlocked.CompareExchange(ref _lastFutureStampLog, now, last) == last)
        {
            Log.CreatedInTheFuture(_logger, Name, key, new TimeSpan(entry.CreatedUtcTicks - now));
        }
    }

    /// <summary>
    /// When a ratio-based early refresh starts: after <see cref="CacheRegionOptions.EarlyRefreshRatio"/> of the
    /// expiration, or earlier by as much as two creations take, so that the refresh lands before the value expires
    /// even when the creator is slow next to the expiration (a 200 ms creator on a 1 s expiration at 0.8 would
    /// otherwise land just at expiry, and every queueing delay would make answers stale). The creation-time lead is
    /// capped at half the expiration.
    /// </summary>
    private long EarlyRefreshPoint(CacheEntry entry)
    {
        long expiration = entry.Lifetime.Ticks;
        long ratioLead = expiration - (long)(expiration * _earlyRatio);
        long creationLead = Math.Min(2 * entry.CreationDurationTicks, expiration / 2);
        return entry.FreshUntilUtcTicks - Math.Max(ratioLead, creationLead);
    }

    private bool NeedsEarlyRefresh(CacheEntry entry, long now)
    {
        if (!_earlyRefreshEnabled || entry.Lifetime.IsNever)
        {
            return false;
        }

        // An entry this region built carries its (jittered) refresh point; one from elsewhere gets the plain one.
        if (_earlyRatio > 0 && now >= (entry.HitUntilUtcTicks < entry.FreshUntilUtcTicks ? entry.HitUntilUtcTicks : EarlyRefreshPoint(entry)))
        {
            return true;
        }

        if (_earlyBeta > 0 && entry.CreationDurationTicks > 0)
        {
            // XFetch: refresh when now - delta * beta * ln(U) >= expiry, U uniform in (0, 1].
            double u = 1.0 - Random.Shared.NextDouble();
            double gap = -entry.CreationDurationTicks * _earlyBeta * Math.Log(u);
            return now + gap >= entry.FreshUntilUtcTicks;
        }

        return false;
    }

    /// <summary>Gets the entry's value as a <typeparamref name="T"/>; a corrupt payload or a value of another type is unreadable.</summary>
    private bool TryDecode<T>(string key, CacheEntry entry, out T value)
    {
        if (_storesObjects || !entry.HasPayload)
        {
            object? stored = entry.Value;
            if (stored is T typed)
            {
                value = typed;
                return true;
            }

            if (stored is null && default(T) is null)
            {
                value = default!;
                return true;
            }

            CountUnreadable(key, new InvalidCastException(
                $"The cached value is a {stored?.GetType().Name ?? "null"}, not the {typeof(T).Name} requested."));
            value = default!;
            return false;
        }

        if (entry.Decoded is T decoded)
        {
            value = decoded;
            return true;
        }

        try
        {
            value = _serializer.Deserialize<T>(new ReadOnlySequence<byte>(entry.Payload));
            if (_validator is not null && !_validator(value))
            {
                // Parsed, but not a value this application would ever create: a miss, never served.
                CountUnreadable(key, new CacheSerializationException(
                    $"The cached {typeof(T).Name} deserialized but failed the region's ValueValidator."));
                value = default!;
                return false;
            }

            if (value is not null)
            {
                entry.Decoded = value;
            }

            return true;
        }
        catch (CacheSerializationException ex)
        {
            CountUnreadable(key, ex);
        }
#pragma warning disable CA1031 // Custom serializers throw anything; a bad payload must stay a miss, not a crash.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            CountUnreadable(key, ex);
        }

        value = default!;
        return false;
    }

    private static CacheItem<T> ToItem<T>(in Lookup<T> lookup, long now, CacheItemSource source)
        => new(
            lookup.Value,
            lookup.Entry!.CreatedUtcTicks,
            now,
            lookup.State is EntryState.Stale or EntryState.TooStale,
            source,
            lookup.Entry.Lifetime,
            lookup.Entry.CreatedDuringOutage);
}
