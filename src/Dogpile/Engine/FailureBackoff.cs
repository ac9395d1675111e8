using System.Collections.Concurrent;

namespace Dogpile.Engine;

/// <summary>
/// The per-key failure records behind stale-if-error: after a failed creation or refresh a key backs off (doubling per
/// consecutive failure, up to a cap) before the next attempt, so a failing upstream gets no retry storm.
/// </summary>
/// <remarks>
/// Bounded: a record lives only while its back-off matters. One whose back-off ended a full back-off ago is dropped
/// when next looked at or swept (a streak that quiet is over), and past <see cref="DefaultCapacity"/> records a sweep drops
/// every ended one; if all are still backing off, a new key is not recorded (it fails again at its next call, as it
/// would have the first time). With an upstream down, a client sending endless distinct keys cannot grow this.
/// </remarks>
internal sealed class FailureBackoff(long baseTicks, long maxTicks, int capacity = FailureBackoff.DefaultCapacity)
{
    /// <summary>The most keys backing off at once in one region.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly ConcurrentDictionary<string, Record> _records = new(StringComparer.Ordinal);

    // Kept beside the map because ConcurrentDictionary's Count and IsEmpty take every lock: every successful creation
    // asks, and with no failures at all (the usual case) the answer must cost one read.
    private int _count;
    private long _lastSweepUtcTicks;
    private int _sweeping;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether the key failed recently and must not be tried again yet.</summary>
    public bool IsBackingOff(string key, long nowUtcTicks)
    {
        if (Volatile.Read(ref _count) == 0 || !_records.TryGetValue(key, out Record? record))
        {
            return false;
        }

        if (nowUtcTicks < record.RetryAtUtcTicks)
        {
            return true;
        }

        if (record.IsOver(nowUtcTicks))
        {
            Remove(key, record);
        }

        return false;
    }

    /// <summary>The key's current back-off; zero when it has none.</summary>
    public TimeSpan Current(string key)
        => Volatile.Read(ref _count) != 0 && _records.TryGetValue(key, out Record? record) ? new TimeSpan(record.BackoffTicks) : TimeSpan.Zero;

    /// <summary>A success ends the key's streak.</summary>
    public void Succeeded(string key)
    {
        if (Volatile.Read(ref _count) != 0 && _records.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Records a failure: the back-off doubles per consecutive failure, up to the cap.</summary>
    /// <returns>The back-off now in force for the key.</returns>
    public TimeSpan Failed(string key, long nowUtcTicks)
    {
        if (nowUtcTicks - Volatile.Read(ref _lastSweepUtcTicks) >= maxTicks || (Count >= capacity && !_records.ContainsKey(key)))
        {
            Sweep(nowUtcTicks);
            if (Count >= capacity && !_records.ContainsKey(key))
            {
                return new TimeSpan(baseTicks);
            }
        }

        while (true)
        {
            if (_records.TryGetValue(key, out Record? previous))
            {
                // A streak whose back-off ended long ago starts over from the base interval.
                long backoff = previous.IsOver(nowUtcTicks) ? baseTicks
                    : Math.Min(maxTicks, previous.BackoffTicks > maxTicks / 2 ? maxTicks : previous.BackoffTicks * 2);
                if (_records.TryUpdate(key, new Record(backoff, nowUtcTicks + backoff), previous))
                {
                    return new TimeSpan(backoff);
                }
            }
            else if (_records.TryAdd(key, new Record(baseTicks, nowUtcTicks + baseTicks)))
            {
                Interlocked.Increment(ref _count);
                return new TimeSpan(baseTicks);
            }
        }
    }

    private void Sweep(long nowUtcTicks)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _lastSweepUtcTicks, nowUtcTicks);
            foreach (KeyValuePair<string, Record> pair in _records)
            {
                if (pair.Value.IsOver(nowUtcTicks))
                {
                    Remove(pair.Key, pair.Value);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private void Remove(string key, Record record)
    {
        if (_records.TryRemove(new KeyValuePair<string, Record>(key, record)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed record Record(long BackoffTicks, long RetryAtUtcTicks)
    {
        /// <summary>The back-off ended at least one more back-off ago without a new failure.</summary>
        public bool IsOver(long nowUtcTicks) => nowUtcTicks - RetryAtUtcTicks >= BackoffTicks;
    }
}
