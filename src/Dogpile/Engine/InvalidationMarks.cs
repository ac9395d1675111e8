using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// A region's invalidation marks and the created-time stamp they are compared with: values created at or before the
/// hard mark are missing, at or before the soft mark stale. <see cref="Any"/> is the later of the two, so the hit path
/// compares one number.
/// </summary>
/// <remarks>
/// The marks only move forward (a mark from another process applies only if it is later), and a new mark always covers
/// every value this region has stamped, however the clock moved; a value stamped after a mark is always after it.
/// </remarks>
internal sealed class InvalidationMarks
{
    private readonly RegionClock _clock;
    private long _hard;
    private long _soft;
    private long _any;

    // The latest created time stamped here: a new mark never falls below it.
    private long _lastStamp;

    // The latest tag mark (TagMarks): created times are stamped after it too.
    private long _tagFloor;

    public InvalidationMarks(RegionClock clock)
    {
        _clock = clock;
        Tags = new TagMarks(this);
    }

    /// <summary>The marks of the region's tags, reached through the region's so the hit test follows one reference.</summary>
    public TagMarks Tags { get; }

    public long Hard => Volatile.Read(ref _hard);

    public long Soft => Volatile.Read(ref _soft);

    public long Any
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _any);
    }

    /// <summary>
    /// The in-process hit test: whether an entry held in process (the memory backend, or a trusted near entry) is served
    /// as a hit now: created after every invalidation of the region and of its tags, and before its hit deadline (expiry
    /// or early refresh). Used by the region's inlined hit and the multi-key near read; the tag marks are read only for
    /// a tagged entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ServesAsHit(CacheEntry entry, long now)
        => entry.CreatedUtcTicks > Any
            && (entry.TagArray is null || !Tags.Catches(entry, entry.TagArray))
            && now < entry.HitUntilUtcTicks;

    /// <summary>
    /// The created time of a value finishing now. Always after the latest mark, so a value created after an
    /// invalidation (in program order) is never caught by it, even within the same clock tick.
    /// </summary>
    public long StampCreated() => StampCreated(out _);

    /// <summary><see cref="StampCreated()"/>, with the precise clock's reading it was made from.</summary>
    public long StampCreated(out long now)
    {
        now = _clock.PreciseUtcTicks;
        long mark = StampFloor;
        long stamp = now > mark ? now : mark + 1;
        InterlockedMax(ref _lastStamp, stamp);
        return stamp;
    }

    /// <summary>The latest mark of any kind, region or tag: a created time stamped here is always after it.</summary>
    public long StampFloor => Math.Max(Volatile.Read(ref _any), Volatile.Read(ref _tagFloor));

    /// <summary>
    /// The mark of an invalidation now: strictly after the previous mark of its kind, and at or after every created time
    /// stamped here, so it covers "every value created until now" even when the clock has not moved since (a coarse tick,
    /// a fake clock) or was stepped back (NTP).
    /// </summary>
    public RegionInvalidation Next(InvalidationMode mode)
    {
        long mark = NextMark(mode == InvalidationMode.Hard ? Hard : Soft);
        return mode == InvalidationMode.Hard ? new(mark, 0) : new(0, mark);
    }

    /// <summary>A mark strictly after <paramref name="previous"/> and at or after every created time stamped here.</summary>
    public long NextMark(long previous) => Math.Max(_clock.PreciseUtcTicks, Math.Max(previous + 1, Volatile.Read(ref _lastStamp)));

    /// <summary>Makes every later created time fall after <paramref name="mark"/> (a tag's mark).</summary>
    public void RaiseStampFloor(long mark) => InterlockedMax(ref _tagFloor, mark);

    /// <summary>Applies marks made here or published by another process; a mark only ever moves forward.</summary>
    public void Apply(RegionInvalidation marks)
    {
        InterlockedMax(ref _hard, marks.HardUtcTicks);
        InterlockedMax(ref _soft, marks.SoftUtcTicks);
        InterlockedMax(ref _any, Math.Max(marks.HardUtcTicks, marks.SoftUtcTicks));
    }

    internal static void InterlockedMax(ref long target, long value)
    {
        long current = Volatile.Read(ref target);
        while (value > current)
        {
            long seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
