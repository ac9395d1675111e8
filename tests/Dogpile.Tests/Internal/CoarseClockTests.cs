using Dogpile.Internal;
using Dogpile.Testing;

namespace Dogpile.Tests.Internal;

/// <summary>The hit path's clock: a field published every millisecond while it is read, and no timer at all when idle.</summary>
public sealed class CoarseClockTests
{
    private static long PreciseNow => TimeProvider.System.GetUtcNow().UtcTicks;

    [Fact]
    public void FirstRead_WakesTheTimer_AndReadsTheClock()
    {
        using var clock = new CoarseClock(TimeSpan.FromSeconds(30));
        Assert.False(clock.IsTicking);

        long before = PreciseNow;
        long read = clock.UtcTicks;

        Assert.InRange(read, before, PreciseNow);
        Assert.True(clock.IsTicking);
    }

    [Fact]
    public async Task WhileTicking_TheTimeMovesOn()
    {
        using var clock = new CoarseClock(TimeSpan.FromSeconds(30));
        long first = clock.UtcTicks;

        await Task.Delay(200);

        // Published by the timer, not read on this call: it must have advanced (loosely bounded on a busy machine).
        Assert.True(clock.IsTicking);
        Assert.InRange(clock.UtcTicks - first, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(10).Ticks);
        Assert.InRange(PreciseNow - clock.UtcTicks, 0, TimeSpan.FromMilliseconds(500).Ticks);
    }

    [Fact]
    public async Task Unread_TheTimerParks_AndTheNextReadIsStillNow()
    {
        using var clock = new CoarseClock(TimeSpan.FromMilliseconds(20));
        long first = clock.UtcTicks;

        await Eventually.TrueAsync(() => !clock.IsTicking, "the timer parks once nothing reads the time");
        await Task.Delay(100);
        long before = PreciseNow;
        long read = clock.UtcTicks;

        // A parked clock must never hand out the time it parked at.
        Assert.InRange(read, before, PreciseNow);
        Assert.True(read - first >= TimeSpan.FromMilliseconds(100).Ticks);
        Assert.True(clock.IsTicking);
    }

    [Fact]
    public async Task Disposed_ReadsStillReadTheClock()
    {
        var clock = new CoarseClock(TimeSpan.FromSeconds(30));
        _ = clock.UtcTicks;
        clock.Dispose();

        await Task.Delay(100);
        long before = PreciseNow;
        Assert.InRange(clock.UtcTicks, before, PreciseNow);
        await Task.Delay(50);
        Assert.False(clock.IsTicking);
    }

    [Fact]
    public async Task ConcurrentReadersAcrossParkAndWake_NeverReadAFrozenTime()
    {
        using var clock = new CoarseClock(TimeSpan.FromMilliseconds(2));
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(600));
        long frozenAt = 0;
        Task[] readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                long read = clock.UtcTicks;
                long lag = PreciseNow - read;
                if (lag > TimeSpan.FromMilliseconds(250).Ticks)
                {
                    Interlocked.Exchange(ref frozenAt, read);
                }

                // Gaps longer than the window, so the timer parks and wakes many times under these reads.
                await Task.Delay(Random.Shared.Next(0, 8));
            }
        })).ToArray();
        await Task.WhenAll(readers);

        Assert.Equal(0, frozenAt);
    }
}
