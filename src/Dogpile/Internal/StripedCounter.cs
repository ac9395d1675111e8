namespace Dogpile.Internal;

/// <summary>
/// A counter that many threads bump at once (hits): each thread adds to its own cache line, so the hit path
/// never contends on one shared word. Reads sum the stripes.
/// </summary>
internal sealed class StripedCounter
{
    // 16 longs = 128 bytes between stripes: two cache lines, enough to defeat adjacent-line prefetch.
    private const int Padding = 16;
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        int stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 1, 64));
        _mask = stripes - 1;
        _cells = new long[stripes * Padding];
    }

    public void Increment()
        => Interlocked.Increment(ref _cells[(Environment.CurrentManagedThreadId & _mask) * Padding]);

    public long Sum()
    {
        long total = 0;
        for (int i = 0; i < _cells.Length; i += Padding)
        {
            total += Volatile.Read(ref _cells[i]);
        }

        return total;
    }
}
