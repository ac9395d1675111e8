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
internal sealed class InvalidationMarks(RegionClock clock)
{
    private long _hard;
    private long _soft;
    private long _any;

    // The latest created time stamped here: a new mark never falls below it.
    private long _lastStamp;

    public long Hard => Volatile.Read(ref _hard);

    public long Soft => Volatile.Read(ref _soft);

    public long Any
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _any);
    }

    /// <summary>
    /// The created time of a value finishing now. Always after the latest mark, so a value created after an
    /// invalidation (in program order) is never caught by it, even within the same clock tick.
    /// </summary>
    public long StampCreated()
    {
        long now = clock.PreciseUtcTicks;
        long mark = Volatile.Read(ref _any);
        long stamp = now > mark ? now : mark + 1;
        InterlockedMax(ref _lastStamp, stamp);
        return stamp;
    }

    /// <summary>
    /// The mark of an invalidation now: strictly after the previous mark of its kind, and at or after every created time
    /// stamped here, so it covers "every value created until now" even when the clock has not moved since (a coarse tick,
    /// a fake clock) or was stepped back (NTP).
    /// </summary>
    public RegionInvalidation Next(InvalidationMode mode)
    {
        long previous = mode == InvalidationMode.Hard ? Hard : Soft;
        long mark = Math.Max(clock.PreciseUtcTicks, Math.Max(previous + 1, Volatile.Read(ref _lastStamp)));
        return mode == InvalidationMode.Hard ? new(mark, 0) : new(0, mark);
    }

    /// <summary>Applies marks made here or published by another process; a mark only ever moves forward.</summary>
    public void Apply(RegionInvalidation marks)
    {
        InterlockedMax(ref _hard, marks.HardUtcTicks);
        InterlockedMax(ref _soft, marks.SoftUtcTicks);
        InterlockedMax(ref _any, Math.Max(marks.HardUtcTicks, marks.SoftUtcTicks));
    }

    /// <summary>Why a stale entry is refreshed: a soft invalidation caught it, or it expired.</summary>
    public RefreshReason ReasonFor(CacheEntry entry)
        => entry.CreatedUtcTicks <= Soft ? RefreshReason.SoftInvalidated : RefreshReason.Expired;

    private static void InterlockedMax(ref long target, long value)
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
