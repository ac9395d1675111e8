using System.Collections.Concurrent;

namespace Dogpile.Redis.Internal;

/// <summary>
/// Entries recently read from or written to Redis, as their stored bytes, kept for a short time to be served only while
/// Redis calls fail. Bounded: past the capacity, new keys are not added until old ones expire.
/// </summary>
internal sealed class LocalFallback(TimeSpan duration, int capacity, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Held> _entries = new(StringComparer.Ordinal);
    private readonly long _durationTicks = (long)(duration.TotalSeconds * time.TimestampFrequency);
    private int _sweeping;

    public bool Enabled { get; } = duration > TimeSpan.Zero && capacity > 0;

    public void Put(string key, byte[] data)
    {
        if (!Enabled)
        {
            return;
        }

        long expires = time.GetTimestamp() + _durationTicks;
        if (_entries.Count >= capacity && !_entries.ContainsKey(key))
        {
            Sweep();
            if (_entries.Count >= capacity)
            {
                return;
            }
        }

        _entries[key] = new Held(data, expires);
    }

    public bool TryGet(string key, out byte[] data)
    {
        if (Enabled && _entries.TryGetValue(key, out Held? held))
        {
            if (time.GetTimestamp() < held.ExpiresAt)
            {
                data = held.Data;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<string, Held>(key, held));
        }

        data = [];
        return false;
    }

    public void Remove(string key)
    {
        if (Enabled)
        {
            _entries.TryRemove(key, out _);
        }
    }

    private void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            long now = time.GetTimestamp();
            foreach (KeyValuePair<string, Held> entry in _entries)
            {
                if (entry.Value.ExpiresAt <= now)
                {
                    _entries.TryRemove(entry);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed record Held(byte[] Data, long ExpiresAt);
}
