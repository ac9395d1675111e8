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
/// the map over its capacity (or its size limit), the writer advances the clock hand: entries read since its last
/// pass get a second chance, expired ones are dropped, the others are evicted.</para>
/// <para>Memory is bounded by the live entries: a replaced or removed entry lets go of its value at once, and the
/// clock queue is compacted whenever it holds more than twice the live entries, so rewriting the same keys over and
/// over keeps nothing old alive. Bound the bytes too with <see cref="MemoryCacheBackendOptions.SizeLimit"/>.</para>
/// <para>Values are shared by reference between callers and never copied: do not mutate a cached object.</para>
/// </remarks>
public sealed class MemoryCacheBackend : ICacheBackend
{
    /// <summary>The default capacity in entries.</summary>
    public const int DefaultCapacity = 100_000;

    // Slots the clock queue may hold beyond twice the live entries before it is compacted: a few rewrites of a
    // small cache should not trigger a pass each.
    private const int QueueSlack = 64;

    private static readonly ValueTask<CacheEntry?> s_missing = new((CacheEntry?)null);

    private readonly ConcurrentDictionary<string, Slot> _map;
    private readonly ConcurrentQueue<Slot> _clock = new();
    private readonly RegionClock _time;
    private readonly long _sizeLimit;
    private readonly Func<string, CacheEntry, long>? _weigher;
    private int _count;
    private int _queued;
    private long _size;
    private int _evicting;

    /// <summary>Creates the backend.</summary>
    /// <param name="capacity">The most entries kept; beyond it the least recently used ones (approximately) are evicted.</param>
    /// <param name="timeProvider">The clock for times to live; <see cref="TimeProvider.System"/> by default.</param>
    public MemoryCacheBackend(int capacity = DefaultCapacity, TimeProvider? timeProvider = null)
        : this(new MemoryCacheBackendOptions { Capacity = ValidCapacity(capacity) }, timeProvider)
    {
    }

    /// <summary>Creates the backend.</summary>
    /// <param name="options">Its bounds; validated here, and copied, so later changes have no effect.</param>
    /// <param name="timeProvider">The clock for times to live; <see cref="TimeProvider.System"/> by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public MemoryCacheBackend(MemoryCacheBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Capacity = options.Capacity;
        SizeLimit = options.SizeLimit;
        _sizeLimit = options.SizeLimit ?? long.MaxValue;
        _weigher = options.SizeLimit is null ? null : options.Weigher ?? EntrySizeEstimator.Estimate;
        _map = new ConcurrentDictionary<string, Slot>(StringComparer.Ordinal);
        _time = new RegionClock(timeProvider ?? TimeProvider.System);
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>The most bytes kept, or <see langword="null"/> when only <see cref="Capacity"/> bounds the backend.</summary>
    public long? SizeLimit { get; }

    /// <summary>The number of entries held now (including expired ones not yet read or evicted).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The weighed size of the entries held now, in bytes; 0 when no <see cref="SizeLimit"/> is set.</summary>
    public long Size => Volatile.Read(ref _size);

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

    /// <summary>
    /// The inlined hit path's read: <see cref="PeekForHit(string)"/>, but only while the entry is within its time to live
    /// at <paramref name="now"/>. A near cache gives its entries the time they are trusted as their time to live, which
    /// can end before they stop being fresh; for the memory backend's own entries the check always passes on a fresh one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal CacheEntry? PeekForHit(string key, long now)
    {
        if (_map.TryGetValue(key, out Slot? slot) && now < slot.DropAtUtcTicks)
        {
            slot.MarkAccessed();
            return slot.Entry;
        }

        return null;
    }

    /// <summary>The entry held for the key, even past its time to live (until evicted): what a near cache serves while the backend fails.</summary>
    internal CacheEntry? PeekAny(string key) => _map.TryGetValue(key, out Slot? slot) ? slot.Entry : null;

    /// <summary>Stores an entry to be dropped at <paramref name="dropAtUtcTicks"/> (no size check: a near cache has no size limit).</summary>
    internal void Put(string key, CacheEntry entry, long dropAtUtcTicks) => Store(new Slot(key, entry, dropAtUtcTicks, 0));

    /// <summary>Removes the key; true when it was held.</summary>
    internal bool Evict(string key) => RemoveKey(key);

    /// <summary>
    /// Ends every entry's time to live at <paramref name="now"/> at the latest, keeping the entries: a near cache that can
    /// no longer trust what it holds still serves it while the backend fails (<see cref="PeekAny"/>).
    /// </summary>
    internal void ExpireAll(long now)
    {
        foreach (KeyValuePair<string, Slot> pair in _map)
        {
            pair.Value.ExpireBy(now);
        }
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
    /// <exception cref="CacheValueTooLargeException">The entry alone weighs more than <see cref="SizeLimit"/>; nothing was written.</exception>
    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
        => Set(key, entry, timeToLive, nowUtcTicks: null);

    /// <summary>Whether this backend's clock is <paramref name="time"/>, so a time stamped with it is "now" here too.</summary>
    internal bool Uses(TimeProvider time) => ReferenceEquals(_time.TimeProvider, time);

    /// <summary>
    /// Writes an entry a region has just stamped with this backend's clock (see <see cref="Uses"/>): its created time is
    /// now, so the time to live counts from it and the clock is not read again on a miss.
    /// </summary>
    internal ValueTask SetStamped(string key, CacheEntry entry, TimeSpan? timeToLive) => Set(key, entry, timeToLive, entry.CreatedUtcTicks);

    private ValueTask Set(string key, CacheEntry entry, TimeSpan? timeToLive, long? nowUtcTicks)
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

            long now = nowUtcTicks ?? _time.PreciseUtcTicks;
            dropAt = ttl.Ticks > long.MaxValue - now ? long.MaxValue : now + ttl.Ticks;
        }

        long weight = 0;
        if (_weigher is not null)
        {
            weight = Math.Max(0, _weigher(key, entry));
            if (weight > _sizeLimit)
            {
                return ValueTask.FromException(new CacheValueTooLargeException(key, weight, _sizeLimit));
            }
        }

        Store(new Slot(key, entry, dropAt, weight));
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

    private static int ValidCapacity(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return capacity;
    }

    private bool OverLimit => Volatile.Read(ref _count) > Capacity || Volatile.Read(ref _size) > _sizeLimit;

    private bool QueueTooLong => Volatile.Read(ref _queued) > (2 * Volatile.Read(ref _count)) + QueueSlack;

    private void Store(Slot slot)
    {
        while (true)
        {
            if (_map.TryGetValue(slot.Key, out Slot? old))
            {
                if (_map.TryUpdate(slot.Key, slot, old))
                {
                    Interlocked.Add(ref _size, slot.Weight - old.Weight);
                    old.Retire();
                    break;
                }
            }
            else if (_map.TryAdd(slot.Key, slot))
            {
                Interlocked.Increment(ref _count);
                Interlocked.Add(ref _size, slot.Weight);
                break;
            }
        }

        _clock.Enqueue(slot);
        Interlocked.Increment(ref _queued);
        if (OverLimit || QueueTooLong)
        {
            Evict();
        }
    }

    /// <summary>
    /// Advances the clock hand until the map is back within its bounds and the queue within twice the live entries.
    /// One writer at a time; others skip, since the running pass evicts for them. Replaced or removed slots still in
    /// the queue are dropped as they come up, and so are expired entries.
    /// </summary>
    private void Evict()
    {
        if (Interlocked.Exchange(ref _evicting, 1) != 0)
        {
            return;
        }

        try
        {
            long now = _time.CoarseUtcTicks;

            // Each live slot can be passed over at most once per pass (its second chance), so the pass is bounded.
            int budget = (2 * Volatile.Read(ref _queued)) + 1;
            while (budget-- > 0 && (OverLimit || QueueTooLong) && _clock.TryDequeue(out Slot? slot))
            {
                Interlocked.Decrement(ref _queued);
                if (slot.Removed)
                {
                    continue;
                }

                if (slot.DropAtUtcTicks <= now)
                {
                    Remove(slot);
                    continue;
                }

                // Only when over a bound is a slot judged; a pass that only compacts the queue keeps every live slot
                // with its access flag as it was.
                if (OverLimit && !slot.TakeSecondChance())
                {
                    Remove(slot);
                    continue;
                }

                _clock.Enqueue(slot);
                Interlocked.Increment(ref _queued);
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
            Forget(slot);
            return true;
        }

        return false;
    }

    private void Remove(Slot slot)
    {
        if (_map.TryRemove(new KeyValuePair<string, Slot>(slot.Key, slot)))
        {
            Forget(slot);
        }
    }

    private void Forget(Slot slot)
    {
        Interlocked.Decrement(ref _count);
        Interlocked.Add(ref _size, -slot.Weight);
        slot.Retire();
    }

    private sealed class Slot(string key, CacheEntry entry, long dropAtUtcTicks, long weight)
    {
        private volatile bool _accessed;
        private volatile bool _removed;

        public string Key { get; } = key;

        /// <summary>The entry; <see langword="null"/> once the slot left the map, so the queue holds no dead value.</summary>
        public CacheEntry? Entry { get; private set; } = entry;

        private long _dropAtUtcTicks = dropAtUtcTicks;

        public long DropAtUtcTicks => Volatile.Read(ref _dropAtUtcTicks);

        public long Weight { get; } = weight;

        public bool Removed => _removed;

        /// <summary>Brings the drop time forward to <paramref name="now"/> if it is later (never back).</summary>
        public void ExpireBy(long now)
        {
            long current;
            while ((current = Volatile.Read(ref _dropAtUtcTicks)) > now
                && Interlocked.CompareExchange(ref _dropAtUtcTicks, now, current) != current)
            {
            }
        }

        /// <summary>
        /// The slot left the map (replaced, removed, evicted): it lets go of the value at once, since the clock queue
        /// may keep the slot itself until the hand passes it. A reader that found the slot just before sees a miss.
        /// </summary>
        public void Retire()
        {
            _removed = true;
            Entry = null;
        }

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
