using System.Runtime.CompilerServices;

namespace Dogpile.Internal;

/// <summary>
/// A counter that many threads bump at once (hits, stale served). Each thread adds to its own cell with a plain
/// increment (one writer per cell, so nothing is lost and no interlocked instruction is paid on the hit path);
/// reads sum every thread's cell. Counters are slots in per-thread arrays, so one thread-static lookup serves all.
/// </summary>
internal sealed class StripedCounter
{
    private static readonly List<long[]> s_threadCells = [];
    private static int s_nextSlot = -1;

    [ThreadStatic]
    private static long[]? t_cells;

    private readonly int _slot = Interlocked.Increment(ref s_nextSlot);

    /// <summary>This counter's cell index in every thread's array; the hot path keeps it to skip a load.</summary>
    public int Slot => _slot;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment() => Increment(_slot);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Increment(int slot)
    {
        long[]? cells = t_cells;
        if (cells is null || (uint)slot >= (uint)cells.Length)
        {
            cells = Grow(slot);
        }

        cells[slot]++;
    }

    public long Sum()
    {
        long total = 0;
        lock (s_threadCells)
        {
            foreach (long[] cells in s_threadCells)
            {
                if (_slot < cells.Length)
                {
                    total += Volatile.Read(ref cells[_slot]);
                }
            }
        }

        return total;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long[] Grow(int slot)
    {
        long[]? old = t_cells;
        var cells = new long[Math.Max(slot + 32, (old?.Length ?? 0) * 2)];
        lock (s_threadCells)
        {
            // Copied under the lock, so a concurrent Sum sees either the old array or the new one, never neither.
            if (old is not null)
            {
                old.CopyTo(cells, 0);
                s_threadCells.Remove(old);
            }

            s_threadCells.Add(cells);
        }

        t_cells = cells;
        return cells;
    }
}
