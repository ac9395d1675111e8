namespace Dogpile.Engine;

/// <summary>
/// How long an entry is fresh after its creator finished: a span, or <see cref="Never"/>. The one internal spelling of an
/// entry's lifetime, from the options that set it to the entry, the flight and the item that carry it. The public forms
/// (<see cref="TimeSpan"/>? with <see langword="null"/> for never, <see cref="CacheRegionOptions.NeverExpires"/>) and the
/// envelope's (-1) are converted here, at the boundary, and nowhere else.
/// </summary>
/// <remarks>
/// Every derived time saturates: a lifetime near <see cref="TimeSpan.MaxValue"/> added to a created time or a stale
/// window ends at <see cref="long.MaxValue"/>, never wraps into the past.
/// </remarks>
internal readonly struct EntryLifetime : IEquatable<EntryLifetime>
{
    /// <summary>The envelope's spelling of never (<see cref="CacheEntry.ToBytes"/>): what every deployed reader expects.</summary>
    public const long StoredNever = -1;

    // Never is the largest span: every saturating sum with it is long.MaxValue, the end of time.
    private const long NeverTicks = long.MaxValue;

    private readonly long _ticks;

    private EntryLifetime(long ticks) => _ticks = ticks;

    /// <summary>The entry never expires.</summary>
    public static EntryLifetime Never => new(NeverTicks);

    /// <summary>Whether the entry never expires.</summary>
    public bool IsNever => _ticks == NeverTicks;

    /// <summary>The span in ticks (<see cref="long.MaxValue"/> for <see cref="Never"/>).</summary>
    public long Ticks => _ticks;

    /// <summary>The envelope's form: the span's ticks, or <see cref="StoredNever"/>.</summary>
    public long StoredTicks => IsNever ? StoredNever : _ticks;

    /// <summary>
    /// A public expiration as a lifetime: <see langword="null"/> and every negative span (among them
    /// <see cref="CacheRegionOptions.NeverExpires"/>) mean never.
    /// </summary>
    public static EntryLifetime FromExpiration(TimeSpan? expiration)
        => expiration is { } e && e >= TimeSpan.Zero ? new(e.Ticks) : Never;

    /// <summary>The envelope's form read back: <see cref="StoredNever"/> (or any negative count) is never.</summary>
    public static EntryLifetime FromStoredTicks(long ticks) => ticks >= 0 ? new(ticks) : Never;

    /// <summary>The public form: the span, or <see langword="null"/> when the entry never expires.</summary>
    public TimeSpan? ToExpiration() => IsNever ? null : new TimeSpan(_ticks);

    /// <summary>Until when an entry created at <paramref name="createdUtcTicks"/> is fresh; <see cref="long.MaxValue"/> for never.</summary>
    public long FreshUntil(long createdUtcTicks) => AddSaturating(createdUtcTicks, _ticks);

    /// <summary>
    /// The backend's time to live: the lifetime plus the stale window, so stale values exist to serve;
    /// <see langword="null"/> (no TTL) for never.
    /// </summary>
    public TimeSpan? TimeToLive(long staleWindowTicks) => IsNever ? null : new TimeSpan(AddSaturating(_ticks, staleWindowTicks));

    /// <summary>When an entry created at <paramref name="createdUtcTicks"/> is past its stale window too: nothing to serve after.</summary>
    public long DropAt(long createdUtcTicks, long staleWindowTicks)
        => IsNever ? long.MaxValue : AddSaturating(createdUtcTicks, AddSaturating(_ticks, staleWindowTicks));

    public bool Equals(EntryLifetime other) => _ticks == other._ticks;

    public override bool Equals(object? obj) => obj is EntryLifetime other && Equals(other);

    public override int GetHashCode() => _ticks.GetHashCode();

    public override string ToString() => IsNever ? "never" : new TimeSpan(_ticks).ToString();

    public static bool operator ==(EntryLifetime left, EntryLifetime right) => left.Equals(right);

    public static bool operator !=(EntryLifetime left, EntryLifetime right) => !left.Equals(right);

    /// <summary>a + b for non-negative b, capped at <see cref="long.MaxValue"/>.</summary>
    private static long AddSaturating(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;
}
