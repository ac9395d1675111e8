using System.Runtime.CompilerServices;

namespace Dogpile.Internal;

/// <summary>
/// The system time as a field the hit path can read: reading the clock costs more than a whole hit here (~27 ns
/// with kvm-clock against a ~7 ns hit), so one thread publishes the time every millisecond, but only while the time
/// is being read. It parks (and the field reads zero) once <c>activeWindow</c> has passed since a read last woke
/// it, and the first read after that reads the clock itself and wakes it.
/// </summary>
/// <remarks>
/// A dedicated thread, not a timer: a thread-pool timer wakes a pool worker each millisecond, which then spins
/// looking for more work; measured on a 2-vCPU VM, a 1 ms pool timer that never stopped cost an idle process
/// 110-145 ms of CPU per second, taken from other processes' latency-critical work on the same cores.
/// </remarks>
internal sealed class CoarseClock : IDisposable
{
    private const long ParkedTicks = 0;

    private readonly long _activeWindowTimestamp;
    private readonly Lock _lock = new();
    private readonly ManualResetEventSlim _woken = new(false, spinCount: 0);

    // The published UTC ticks; ParkedTicks while the thread is parked.
    private long _utcTicks;

    // The TimeProvider.System timestamp after which the thread parks, unless a read has woken it again since.
    private long _activeUntil;
    private volatile bool _disposed;

    public CoarseClock(TimeSpan activeWindow)
    {
        _activeWindowTimestamp = (long)(activeWindow.TotalSeconds * TimeProvider.System.TimestampFrequency);
        new Thread(Run) { IsBackground = true, Name = "Dogpile coarse clock" }.Start();
    }

    /// <summary>The one clock every region on <see cref="TimeProvider.System"/> reads.</summary>
    public static CoarseClock Shared { get; } = new(TimeSpan.FromMilliseconds(50));

    /// <summary>Now in UTC ticks: at most about a millisecond behind while the thread runs, exact on the read that wakes it.</summary>
    public long UtcTicks
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            long ticks = Volatile.Read(ref _utcTicks);
            return ticks != ParkedTicks ? ticks : Wake();
        }
    }

    /// <summary>Whether the thread is publishing the time (for tests).</summary>
    internal bool IsTicking => Volatile.Read(ref _utcTicks) != ParkedTicks;

    /// <summary>Stops the thread; reads then always read the clock.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            Volatile.Write(ref _utcTicks, ParkedTicks);
            _woken.Set();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Wake()
    {
        long now = TimeProvider.System.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            Volatile.Write(ref _activeUntil, TimeProvider.System.GetTimestamp() + _activeWindowTimestamp);
            if (!_disposed && Volatile.Read(ref _utcTicks) == ParkedTicks)
            {
                Volatile.Write(ref _utcTicks, now);
                _woken.Set();
            }
        }

        return now;
    }

    private void Run()
    {
        while (true)
        {
            _woken.Wait();
            if (_disposed)
            {
                // A tick may have published once more after Dispose parked the field.
                Volatile.Write(ref _utcTicks, ParkedTicks);
                return;
            }

            // Publishes until no read has woken it for a whole window. Only this thread writes the field while it is
            // not parked, and it parks under the lock a waking read takes, so a read never finds it parked and running.
            while (!_disposed)
            {
                Thread.Sleep(1);
                if (TimeProvider.System.GetTimestamp() >= Volatile.Read(ref _activeUntil) && TryPark())
                {
                    break;
                }

                Volatile.Write(ref _utcTicks, TimeProvider.System.GetUtcNow().UtcTicks);
            }
        }
    }

    private bool TryPark()
    {
        lock (_lock)
        {
            if (TimeProvider.System.GetTimestamp() < _activeUntil)
            {
                return false;
            }

            Volatile.Write(ref _utcTicks, ParkedTicks);
            _woken.Reset();
            return true;
        }
    }
}
