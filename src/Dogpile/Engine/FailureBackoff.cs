using System.Collections.Concurrent;

namespace Dogpile.Engine;

/// <summary>
/// The per-key failure records behind stale-if-error: after a failed creation or refresh a key backs off (doubling per
/// consecutive failure, up to a cap) before the next attempt, so a failing upstream gets no retry storm.
/// </summary>
/// <remarks>
/// Bounded: a record lives only while its back-off matters. One whose back-off ended a full back-off ago is dropped
/// when next looked at or swept (a streak that quiet is over), and past <see cref="Capacity"/> records a sweep drops
/// every ended one; if all are still backing off, a new key is not recorded (it fails again at its next call, as it
/// would have the first time). With an upstream down, a client sending endless distinct keys cannot grow this.
/// </remarks>
internal sealed class FailureBackoff(long baseTicks, long maxTicks, int capacity = FailureBackoff.DefaultCapacity)
{
    /// <summary>The most keys backing off at once in one region.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly ConcurrentDictionary<string, Record> _records = new(StringComparer.Ordinal);
    private long _lastSweepUtcTicks;
    private int _sweeping;

    public int Capacity => capacity;

    public int Count => _records.Count;

    /// <summary>Whether the key failed recently and must not be tried again yet.</summary>
    public bool IsBackingOff(string key, long nowUtcTicks)
    {
        if (!_records.TryGetValue(key, out Record? record))
        {
            return false;
        }

        if (nowUtcTicks < record.RetryAtUtcTicks)
        {
            return true;
        }

        if (record.IsOver(nowUtcTicks))
        {
            _records.TryRemove(new KeyValuePair<string, Record>(key, record));
        }

        return false;
    }

    /// <summary>The key's current back-off; zero when it has none.</summary>
    public TimeSpan Current(string key)
        => _records.TryGetValue(key, out Record? record) ? new TimeSpan(record.BackoffTicks) : TimeSpan.Zero;

    /// <summary>A success ends the key's streak.</summary>
    public void Succeeded(string key)
    {
        if (!_records.IsEmpty)
        {
            _records.TryRemove(key, out _);
        }
    }

    /// <summary>Records a failure: the back-off doubles per consecutive failure, up to the cap.</summary>
    /// <returns>The back-off now in force for the key.</returns>
    public TimeSpan Failed(string key, long nowUtcTicks)
    {
        if (nowUtcTicks - Volatile.Read(ref _lastSweepUtcTicks) >= maxTicks || (_records.Count >= capacity && !_records.ContainsKey(key)))
        {
            Sweep(nowUtcTicks);
            if (_records.Count >= capacity && !_records.ContainsKey(key))
            {
                return new TimeSpan(baseTicks);
            }
        }

        Record record = _records.AddOrUpdate(
            key,
            static (_, arg) => new Record(arg.Base, arg.Now + arg.Base),
            static (_, previous, arg) =>
            {
                // A streak whose back-off ended long ago starts over from the base interval.
                long backoff = previous.IsOver(arg.Now) ? arg.Base
                    : Math.Min(arg.Max, previous.BackoffTicks > arg.Max / 2 ? arg.Max : previous.BackoffTicks * 2);
                return new Record(backoff, arg.Now + backoff);
            },
            (Base: baseTicks, Max: maxTicks, Now: nowUtcTicks));
        return new TimeSpan(record.BackoffTicks);
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
                    _records.TryRemove(pair);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed record Record(long BackoffTicks, long RetryAtUtcTicks)
    {
        /// <summary>The back-off ended at least one more back-off ago without a new failure.</summary>
        public bool IsOver(long nowUtcTicks) => nowUtcTicks - RetryAtUtcTicks >= BackoffTicks;
    }
}
