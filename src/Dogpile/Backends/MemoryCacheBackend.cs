using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile;

/// <summary>
/// The embedded default backend: live objects in a bounded, thread-safe map with CLOCK eviction (second-chance
/// FIFO, the classic approximation of LRU). A read of a present entry completes synchronously and allocates nothing.
/// </summary>
/// <remarks>
/// <para>A hit costs one dictionary lookup plus a flag that is written only the first time an entry is read after
/// the clock hand passed it, so concurrent readers of a hot key do not fight over a cache line. When a write takes
/// the map over its capacity, the writer advances the clock hand: entries read since its last pass get a second
/// chance, the others are evicted.</para>
/// <para>Values are shared by reference between callers and never copied: do not mutate a cached object.
/// Entries past their time to live are dropped when read; the capacity bound evicts the rest.</para>
/// </remarks>
public sealed class MemoryCacheBackend : ICacheBackend
{
    /// <summary>The default capacity in entries.</summary>
    public const int DefaultCapacity = 100_000;

    private static readonly ValueTask<CacheEntry?> s_missing = new((CacheEntry?)null);

    private readonly ConcurrentDictionary<string, Slot> _map;
    private readonly ConcurrentQueue<Slot> _clock = new();
    private readonly RegionClock _time;
    private int _count;
    private int _queued;
    private int _evicting;

    /// <summary>Creates the backend.</summary>
    /// <param name="capacity">The most entries kept; beyond it the least recently used ones (approximately) are evicted.</param>
    /// <param name="timeProvider">The clock for times to live; <see cref="TimeProvider.System"/> by default.</param>
    public MemoryCacheBackend(int capacity = DefaultCapacity, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _map = new ConcurrentDictionary<string, Slot>(StringComparer.Ordinal);
        _time = new RegionClock(timeProvider ?? TimeProvider.System);
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>The number of entries held now (including expired ones not yet read or evicted).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc />
    public bool StoresObjects => true;

    /// <inheritdoc />
    public int MaxKeyLength => 64 * 1024;

    /// <inheritdoc />
    public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        CacheEntry? entry = Read(key);
        return entry is null ? s_missing : new ValueTask<CacheEntry?>(entry);
    }

    /// <summary>
    /// The region's hit path: the entry without the time-to-live check. The region only serves what it judges
    /// fresh, and a fresh entry is always within its time to live (expiration + stale window), so the check would
    /// be redundant there; anything else goes through <see cref="GetAsync"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal CacheEntry? PeekForHit(string key)
    {
        if (_map.TryGetValue(key, out Slot? slot))
        {
            slot.MarkAccessed();
            return slot.Entry;
        }

        return null;
    }

    private CacheEntry? Read(string key)
    {
        if (_map.TryGetValue(key, out Slot? slot))
        {
            if (slot.DropAtUtcTicks > _time.CoarseUtcTicks)
            {
                slot.MarkAccessed();
                return slot.Entry;
            }

            Remove(slot);
        }

        return null;
    }

    /// <inheritdoc />
    public ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var result = new CacheEntry?[keys.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = Read(keys[i]);
        }

        return new ValueTask<CacheEntry?[]>(result);
    }

    /// <inheritdoc />
    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(entry);
        long dropAt = long.MaxValue;
        if (timeToLive is { } ttl && ttl != Timeout.InfiniteTimeSpan)
        {
            if (ttl <= TimeSpan.Zero)
            {
                RemoveKey(key);
                return ValueTask.CompletedTask;
            }

            long now = _time.PreciseUtcTicks;
            dropAt = ttl.Ticks > long.MaxValue - now ? long.MaxValue : now + ttl.Ticks;
        }

        Store(new Slot(key, entry, dropAt));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        foreach (CacheWrite write in entries)
        {
            await SetAsync(write.Key, write.Entry, write.TimeToLive, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
        => new(RemoveKey(key));

    /// <inheritdoc />
    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (string key in keys)
        {
            RemoveKey(key);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Removes every entry.</summary>
    public void Clear()
    {
        foreach (KeyValuePair<string, Slot> pair in _map)
        {
            Remove(pair.Value);
        }
    }

    private void Store(Slot slot)
    {
        while (true)
        {
            if (_map.TryGetValue(slot.Key, out Slot? old))
            {
                if (_map.TryUpdate(slot.Key, slot, old))
                {
                    old.Removed = true;
                    break;
                }
            }
            else if (_map.TryAdd(slot.Key, slot))
            {
                Interlocked.Increment(ref _count);
                break;
            }
        }

        _clock.Enqueue(slot);
        Interlocked.Increment(ref _queued);
        if (Volatile.Read(ref _count) > Capacity || Volatile.Read(ref _queued) > (2 * Capacity) + 64)
        {
            Evict();
        }
    }

    /// <summary>
    /// Advances the clock hand until the map is back within capacity. One writer at a time; others skip, since
    /// the running pass evicts for them. Replaced or removed slots still in the queue are dropped as they come up,
    /// which also keeps the queue bounded when the same keys are rewritten over and over.
    /// </summary>
    private void Evict()
    {
        if (Interlocked.Exchange(ref _evicting, 1) != 0)
        {
            return;
        }

        try
        {
            // Each live slot can be passed over at most once per pass (its second chance), so the pass is bounded.
            int budget = (2 * Volatile.Read(ref _queued)) + 1;
            while (budget-- > 0
                && (Volatile.Read(ref _count) > Capacity || Volatile.Read(ref _queued) > (2 * Capacity) + 64)
                && _clock.TryDequeue(out Slot? slot))
            {
                Interlocked.Decrement(ref _queued);
                if (slot.Removed)
                {
                    continue;
                }

                if (slot.TakeSecondChance() && Volatile.Read(ref _count) > Capacity)
                {
                    _clock.Enqueue(slot);
                    Interlocked.Increment(ref _queued);
                    continue;
                }

                if (Volatile.Read(ref _count) > Capacity)
                {
                    Remove(slot);
                }
                else
                {
                    // Only compacting the queue: keep the live slot.
                    _clock.Enqueue(slot);
                    Interlocked.Increment(ref _queued);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _evicting, 0);
        }
    }

    private bool RemoveKey(string key)
    {
        if (_map.TryRemove(key, out Slot? slot))
        {
            slot.Removed = true;
            Interlocked.Decrement(ref _count);
            return true;
        }

        return false;
    }

    private void Remove(Slot slot)
    {
        if (_map.TryRemove(new KeyValuePair<string, Slot>(slot.Key, slot)))
        {
            slot.Removed = true;
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed class Slot(string key, CacheEntry entry, long dropAtUtcTicks)
    {
        private volatile bool _accessed;

        public string Key { get; } = key;

        public CacheEntry Entry { get; } = entry;

        public long DropAtUtcTicks { get; } = dropAtUtcTicks;

        public bool Removed { get; set; }

        /// <summary>Sets the flag only when clear: hot keys are read-mostly, not written on every hit.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void MarkAccessed()
        {
            if (!_accessed)
            {
                _accessed = true;
            }
        }

        public bool TakeSecondChance()
        {
            if (_accessed)
            {
                _accessed = false;
                return true;
            }

            return false;
        }
    }
}
