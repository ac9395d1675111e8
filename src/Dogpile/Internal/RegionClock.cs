using System.Runtime.CompilerServices;

namespace Dogpile.Internal;

/// <summary>
/// The "now" used to judge freshness on the hit path: with <see cref="TimeProvider.System"/>, the shared
/// <see cref="CoarseClock"/> (a field, published every millisecond while reads happen); any other provider (a
/// FakeTimeProvider in tests) is read directly, so faked time is exact.
/// </summary>
/// <remarks>
/// The coarse clock lags real time by about a millisecond: a value may be served as fresh up to that long
/// past its expiry. Creation times are always stamped with the precise clock.
/// </remarks>
internal sealed class RegionClock(TimeProvider time)
{
    private readonly bool _coarse = ReferenceEquals(time, TimeProvider.System);

    public TimeProvider TimeProvider => time;

    /// <summary>Now, possibly a millisecond behind with the system clock.</summary>
    public long CoarseUtcTicks
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _coarse ? CoarseClock.Shared.UtcTicks : time.GetUtcNow().UtcTicks;
    }

    /// <summary>Now, precisely.</summary>
    public long PreciseUtcTicks => time.GetUtcNow().UtcTicks;
}
