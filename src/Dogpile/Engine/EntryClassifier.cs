using System.Buffers;
using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// How a stored entry is judged at read time: fresh, fresh but due for an early refresh, stale, too stale to serve
/// (a fallback only) or missing, against the region's and its tags' invalidation marks, the reader's clock, and the
/// entry's type and payload (decoded here, once). Owns the rate limit of the log line about entries stamped in the future.
/// </summary>
internal sealed class EntryClassifier(RegionContext context, HeldValues held)
{
    /// <summary>
    /// How far in the future a stored created time may be before the reader stops trusting it: clocks of servers kept in
    /// sync by NTP differ by milliseconds, so a second is generous, and bounds what a fast clock can add to freshness.
    /// </summary>
    public const long MaxClockSkewTicks = TimeSpan.TicksPerSecond;

    private readonly RegionContext _context = context;
    private readonly HeldValues _held = held;
    private readonly RegionClock _clock = context.Clock;
    private readonly InvalidationMarks _marks = context.Marks;
    private readonly TagMarks _tagMarks = context.TagMarks;
    private readonly KeyedGates _gates = context.Gates;
    private readonly ICacheSerializer _serializer = context.Serializer;
    private readonly Func<object?, bool>? _validator = context.Validator;
    private readonly bool _storesObjects = context.StoresObjects;
    private readonly bool _backgroundRefresh = context.BackgroundRefresh;
    private readonly long _staleWindowTicks = context.StaleWindowTicks;
    private readonly long _maxStalenessTicks = context.MaxStalenessTicks;
    private readonly double _earlyRatio = context.EarlyRatio;
    private readonly double _earlyBeta = context.EarlyBeta;
    private readonly bool _earlyRefreshEnabled = context.EarlyRefreshEnabled;
    private long _lastFutureStampLog;

    /// <summary>The decision table applied to a key as it stands now.</summary>
    public ReadAction Decide(EntryState state, string backendKey, long now)
        => state is EntryState.Missing or EntryState.Fresh
            ? EntryPolicy.Decide(state, backingOff: false, refreshBusy: false, _backgroundRefresh)
            : EntryPolicy.Decide(state, _context.IsBackingOff(backendKey, now), _gates.IsBusy(backendKey), _backgroundRefresh);

    /// <summary>The hit test of the hot path: a fresh, readable, not-invalidated entry that needs no early refresh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetFresh<T>(CacheEntry? entry, out T value)
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
    public static bool TryCast<T>(object? stored, out T value)
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
    public bool TryGetStaleWhileBusy<T>(CacheEntry? entry, string backendKey, out T value)
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
                    && EntryPolicy.Decide(EntryState.Stale, _context.IsBackingOff(backendKey, now), _gates.IsBusy(backendKey), _backgroundRefresh) == ReadAction.ServeStale)
                {
                    value = typed;
                    return true;
                }
            }
        }

        value = default!;
        return false;
    }

    public Lookup<T> Classify<T>(string key, CacheEntry? entry, long now)
    {
        // A value the backend could not store lives in this process instead: it is judged like any other.
        entry ??= _held.Unstorable(key, now);

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
    public bool IsStampedInTheFuture(CacheEntry entry, long now)
        => entry.CreatedUtcTicks > Math.Max(now, _marks.StampFloor) + MaxClockSkewTicks;

    private void NoteFutureStamp(string key, CacheEntry entry, long now)
    {
        // At most one line per interval: every reader of a hot key meets the entry until its refresh lands.
        long last = Volatile.Read(ref _lastFutureStampLog);
        if (now - last >= TimeSpan.TicksPerSecond * 10 && Interlocked.CompareExchange(ref _lastFutureStampLog, now, last) == last)
        {
            Log.CreatedInTheFuture(_context.Logger, _context.Name, key, new TimeSpan(entry.CreatedUtcTicks - now));
        }
    }

    /// <summary>
    /// When a ratio-based early refresh starts: after <see cref="CacheRegionOptions.EarlyRefreshRatio"/> of the
    /// expiration, or earlier by as much as two creations take, so that the refresh lands before the value expires
    /// even when the creator is slow next to the expiration (a 200 ms creator on a 1 s expiration at 0.8 would
    /// otherwise land just at expiry, and every queueing delay would make answers stale). The creation-time lead is
    /// capped at half the expiration.
    /// </summary>
    public long EarlyRefreshPoint(CacheEntry entry)
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

            _context.CountUnreadable(key, new InvalidCastException(
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
                _context.CountUnreadable(key, new CacheSerializationException(
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
            _context.CountUnreadable(key, ex);
        }
#pragma warning disable CA1031 // Custom serializers throw anything; a bad payload must stay a miss, not a crash.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            _context.CountUnreadable(key, ex);
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// The hit check of a tagged entry: none of its tags was invalidated since it was created. One compare while the
    /// entry is newer than every tag mark; a lookup per tag (at most <see cref="CacheEntryOptions.MaxTags"/>) otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TagsAllowHit(CacheEntry entry) => !_tagMarks.Catches(entry, entry.TagArray!);

    /// <summary>The hard mark that applies to the entry: the region's, or a later one of its tags.</summary>
    private long HardMarkOf(CacheEntry entry)
    {
        long hard = _marks.Hard;
        return entry.TagArray is { } tags && entry.CreatedUtcTicks <= _tagMarks.Latest ? Math.Max(hard, _tagMarks.HardOf(tags)) : hard;
    }

    /// <summary>The soft mark that applies to the entry: the region's, or a later one of its tags.</summary>
    private long SoftMarkOf(CacheEntry entry)
    {
        long soft = _marks.Soft;
        return entry.TagArray is { } tags && entry.CreatedUtcTicks <= _tagMarks.Latest ? Math.Max(soft, _tagMarks.SoftOf(tags)) : soft;
    }

    /// <summary>Why a stale entry is refreshed: a soft invalidation (of the region or a tag) caught it, or it expired.</summary>
    public RefreshReason ReasonFor(CacheEntry entry)
        => entry.CreatedUtcTicks <= SoftMarkOf(entry) ? RefreshReason.SoftInvalidated : RefreshReason.Expired;
}
