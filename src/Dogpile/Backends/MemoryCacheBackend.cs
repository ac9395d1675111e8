using BitFaster.Caching.Lru;
using Dogpile.Internal;

namespace Dogpile;

/// <summary>
/// The embedded default backend: live objects in a bounded, thread-safe LRU (BitFaster.Caching's
/// <c>ConcurrentLru</c>, a pseudo-LRU with hot, warm and cold queues). A read of a present entry completes
/// synchronously and allocates nothing.
/// </summary>
/// <remarks>
/// Values are shared by reference between callers and never copied: do not mutate a cached object.
/// Entries past their time to live are dropped when read; the LRU bound evicts the rest.
/// </remarks>
public sealed class MemoryCacheBackend : ICacheBackend
{
    /// <summary>The default capacity in entries.</summary>
    public const int DefaultCapacity = 100_000;

    private static readonly ValueTask<CacheEntry?> s_missing = new((CacheEntry?)null);

    private readonly ConcurrentLru<string, Slot> _lru;
    private readonly RegionClock _clock;

    /// <summary>Creates the backend.</summary>
    /// <param name="capacity">The most entries kept; least recently used ones are evicted beyond it.</param>
    /// <param name="timeProvider">The clock for times to live; <see cref="TimeProvider.System"/> by default.</param>
    public MemoryCacheBackend(int capacity = DefaultCapacity, TimeProvider? timeProvider = null)
    {
        if (capacity < 3)
        {
            // ConcurrentLru splits its capacity over three queues.
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The memory backend's capacity must be at least 3 entries.");
        }

        Capacity = capacity;
        _lru = new ConcurrentLru<string, Slot>(Math.Min(Environment.ProcessorCount, 64), capacity, StringComparer.Ordinal);
        _clock = new RegionClock(timeProvider ?? TimeProvider.System);
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>The number of entries held now (including expired ones not yet read or evicted).</summary>
    public int Count => _lru.Count;

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

    private CacheEntry? Read(string key)
    {
        if (_lru.TryGet(key, out Slot? slot))
        {
            if (slot.DropAtUtcTicks > _clock.CoarseUtcTicks)
            {
                return slot.Entry;
            }

            _lru.TryRemove(new KeyValuePair<string, Slot>(key, slot));
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
        ArgumentNullException.ThrowIfNull(entry);
        long dropAt = long.MaxValue;
        if (timeToLive is { } ttl && ttl != Timeout.InfiniteTimeSpan)
        {
            if (ttl <= TimeSpan.Zero)
            {
                _lru.TryRemove(key);
                return ValueTask.CompletedTask;
            }

            long now = _clock.PreciseUtcTicks;
            dropAt = ttl.Ticks > long.MaxValue - now ? long.MaxValue : now + ttl.Ticks;
        }

        _lru.AddOrUpdate(key, new Slot(entry, dropAt));
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
        => new(_lru.TryRemove(key));

    /// <inheritdoc />
    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (string key in keys)
        {
            _lru.TryRemove(key);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Removes every entry.</summary>
    public void Clear() => _lru.Clear();

    private sealed class Slot(CacheEntry entry, long dropAtUtcTicks)
    {
        public CacheEntry Entry { get; } = entry;

        public long DropAtUtcTicks { get; } = dropAtUtcTicks;
    }
}
