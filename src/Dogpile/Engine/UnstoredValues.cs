using System.Collections.Concurrent;

namespace Dogpile.Engine;

/// <summary>
/// Values a region created but its backend refused to store (larger than its item or size limit). They were created,
/// so their callers get them; holding them here for their lifetime (fresh, then stale within the stale window) keeps
/// every later caller from calling the creator again for a value that can never be cached: no upstream storm.
/// </summary>
/// <remarks>
/// Bounded by count: past <see cref="DefaultCapacity"/> values, entries past their time are swept, and a further value is not
/// held (it is still returned to its callers; its key backs off like a failure). Reads look here only when something
/// is held, so the common case costs one field read on the slow path.
/// </remarks>
internal sealed class UnstoredValues(int capacity = UnstoredValues.DefaultCapacity)
{
    /// <summary>The most values held at once in one region.</summary>
    public const int DefaultCapacity = 256;

    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private int _count;

    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    /// <summary>Holds the entry until <paramref name="dropAtUtcTicks"/>.</summary>
    /// <returns>Whether it is held (false when the hold is full of live values).</returns>
    public bool Hold(string key, CacheEntry entry, long dropAtUtcTicks, long nowUtcTicks)
    {
        var held = new Held(entry, dropAtUtcTicks);
        if (Volatile.Read(ref _count) >= capacity && !_held.ContainsKey(key))
        {
            Sweep(nowUtcTicks);
            if (Volatile.Read(ref _count) >= capacity)
            {
                return false;
            }
        }

        while (true)
        {
            if (_held.TryGetValue(key, out Held? old))
            {
                if (_held.TryUpdate(key, held, old))
                {
                    return true;
                }
            }
            else if (_held.TryAdd(key, held))
            {
                Interlocked.Increment(ref _count);
                return true;
            }
        }
    }

    /// <summary>The held entry of the key, or <see langword="null"/>.</summary>
    public CacheEntry? Get(string key, long nowUtcTicks)
    {
        if (!_held.TryGetValue(key, out Held? held))
        {
            return null;
        }

        if (nowUtcTicks < held.DropAtUtcTicks)
        {
            return held.Entry;
        }

        Remove(key, held);
        return null;
    }

    /// <summary>The key was stored, set or removed: what the backend has (or lacks) is the truth again.</summary>
    public void Forget(string key)
    {
        if (Volatile.Read(ref _count) != 0 && _held.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void Sweep(long nowUtcTicks)
    {
        foreach (KeyValuePair<string, Held> pair in _held)
        {
            if (pair.Value.DropAtUtcTicks <= nowUtcTicks)
            {
                Remove(pair.Key, pair.Value);
            }
        }
    }

    private void Remove(string key, Held held)
    {
        if (_held.TryRemove(new KeyValuePair<string, Held>(key, held)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed record Held(CacheEntry Entry, long DropAtUtcTicks);
}
