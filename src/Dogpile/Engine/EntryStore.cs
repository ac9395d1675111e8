using System.Buffers;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Writes and removals as the region makes them (the writes of created values are in EntryStore.Created.cs): builds the entry (stamped, serialized for a byte backend, with its
/// early-refresh point), writes it plainly or fenced by a lock, and after every write tells the near cache, the shared
/// reads and the held values what the backend now holds. Under Degrade a failed write is dropped and its value held in
/// process (<see cref="HeldValues"/>); a value too large to store is held there too.
/// </summary>
internal sealed partial class EntryStore(RegionContext context, EntryClassifier classifier, HeldValues held, NearLayer? near)
{
    private readonly RegionContext _context = context;
    private readonly EntryClassifier _classifier = classifier;
    private readonly HeldValues _held = held;
    private readonly NearLayer? _near = near;
    private readonly ICacheBackend _backend = context.Backend;
    private readonly MemoryCacheBackend? _memory = context.Memory;
    private readonly SharedReads _sharedReads = context.SharedReads;
    private readonly bool _degrade = context.Degrade;
    private readonly bool _storesObjects = context.StoresObjects;
    private readonly double _earlyRatio = context.EarlyRatio;
    private readonly bool _stampedMemoryWrites = context.StampedMemoryWrites;

    /// <summary>The entry of a created or set value: a live object, or bytes (decoded value kept) for a byte backend.</summary>
    public CacheEntry MakeEntry<T>(T value, long createdUtcTicks, EntryLifetime lifetime, TimeSpan creationDuration, string[]? tags)
    {
        CacheEntry entry;
        if (_storesObjects)
        {
            entry = new CacheEntry(value, createdUtcTicks, lifetime, creationDuration.Ticks);
        }
        else
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            _context.Serializer.Serialize(value, buffer);
            entry = new CacheEntry(buffer.WrittenMemory, createdUtcTicks, lifetime, creationDuration.Ticks);
            entry.Decoded = value;
        }

        entry.TagArray = tags;

        if (_earlyRatio > 0 && !lifetime.IsNever)
        {
            // Up to a tenth of the expiration earlier, at random: keys created together (a warm-up, a mass expiry) come
            // due over a spread instead of all at once, so the bounded runner is not handed them in one burst.
            entry.HitUntilUtcTicks = _classifier.EarlyRefreshPoint(entry) - Random.Shared.NextInt64((lifetime.Ticks / 10) + 1);
        }

        return entry;
    }

    /// <summary>Stores a value now, replacing any other; it counts as created at this moment.</summary>
    public ValueTask SetAsync<T>(string key, string backendKey, T value, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        EntryLifetime lifetime = _context.ResolveLifetime(options);
        CacheEntry entry = MakeEntry(value, _context.Marks.StampCreated(), lifetime, TimeSpan.Zero, options?.TagArray);
        _context.Failures.Succeeded(backendKey);
        _held.Forget(key);
        ValueTask write = _backend.SetAsync(backendKey, entry, _context.TimeToLive(lifetime), cancellationToken);
        if (_memory is not null)
        {
            return write;
        }

        // Under Degrade a failed write is dropped and the value held here; the near cache then keeps it at once.
        ValueTask guarded = SetOrDegradeAsync(write, key, backendKey, entry);
        return _near is not null ? _near.WriteThroughAfterAsync(guarded, key, backendKey, entry) : guarded;
    }

    /// <summary>Removes a value.</summary>
    public ValueTask<bool> RemoveAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        _held.Forget(key);
        ValueTask<bool> removal = _backend.RemoveAsync(backendKey, cancellationToken);
        return _memory is null ? RemoveOrDegradeAsync(removal, key, backendKey) : removal;
    }

    /// <summary>Stores many values; each counts as created now.</summary>
    public ValueTask SetManyAsync<T>(IEnumerable<KeyValuePair<string, T>> items, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        EntryLifetime lifetime = _context.ResolveLifetime(options);
        TimeSpan? ttl = _context.TimeToLive(lifetime);
        long created = _context.Marks.StampCreated();
        var writes = new List<CacheWrite>();
        var callerKeys = new List<string>();
        foreach (KeyValuePair<string, T> item in items)
        {
            string backendKey = _context.Keys.ToBackendKey(item.Key);
            callerKeys.Add(item.Key);
            writes.Add(new CacheWrite(backendKey, MakeEntry(item.Value, created, lifetime, TimeSpan.Zero, options?.TagArray), ttl));
            _context.Failures.Succeeded(backendKey);
            _held.Forget(item.Key);
        }

        if (writes.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        ValueTask write = _backend.SetManyAsync(writes, cancellationToken);
        if (_memory is not null)
        {
            return write;
        }

        ValueTask guarded = SetManyOrDegradeAsync(write, writes, callerKeys);
        return _near is not null ? _near.EvictAfterAsync(guarded, callerKeys, writes.ConvertAll(w => w.Key)) : guarded;
    }

    /// <summary>Removes many values.</summary>
    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, string[] backendKeys, CancellationToken cancellationToken)
    {
        foreach (string key in keys)
        {
            _held.Forget(key);
        }

        ValueTask removal = _backend.RemoveManyAsync(backendKeys, cancellationToken);
        if (_memory is not null)
        {
            return removal;
        }

        ValueTask guarded = RemoveManyOrDegradeAsync(removal, keys, backendKeys);
        return _near is not null ? _near.EvictAfterAsync(guarded, keys, backendKeys) : guarded;
    }

    /// <summary>
    /// After a write of this process: the near cache holds <paramref name="stored"/> (the entry the backend now holds), or
    /// drops the key when the write failed or was superseded.
    /// </summary>
    public void AfterWrite(string key, string backendKey, CacheEntry? stored) => _near?.AfterWrite(key, backendKey, stored);

    /// <summary>A remote set in flight: under Degrade a failed one is dropped, and this process holds the value it set.</summary>
    private async ValueTask SetOrDegradeAsync(ValueTask write, string key, string backendKey, CacheEntry entry)
    {
        try
        {
            await ForgetSharedReadsAfterAsync(write, backendKey).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            _held.OnBackendWriteFailed(BackendOperation.Write, key, ex);
            _held.HoldCreatedDuringOutage(key, entry);
        }
    }

    /// <summary>A remote removal in flight: under Degrade a failed one is dropped (false: nothing known to be removed).</summary>
    private async ValueTask<bool> RemoveOrDegradeAsync(ValueTask<bool> removal, string key, string backendKey)
    {
        try
        {
            return await ForgetSharedReadAfterAsync(removal, key, backendKey).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            _held.OnBackendWriteFailed(BackendOperation.Remove, key, ex);
            return false;
        }
    }

    /// <summary>A remote batch write in flight: under Degrade a failed one is dropped, and this process holds the values it set.</summary>
    private async ValueTask SetManyOrDegradeAsync(ValueTask write, List<CacheWrite> writes, List<string> keys)
    {
        try
        {
            await ForgetSharedReadsAfterAsync(write, writes.Select(w => w.Key)).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            _held.OnBackendWriteFailed(BackendOperation.Write, string.Join(",", keys), ex);
            for (int i = 0; i < writes.Count; i++)
            {
                _held.HoldCreatedDuringOutage(keys[i], writes[i].Entry);
            }
        }
    }

    /// <summary>A remote batch removal in flight: under Degrade a failed one is dropped, logged and counted once.</summary>
    private async ValueTask RemoveManyOrDegradeAsync(ValueTask removal, IReadOnlyList<string> keys, IReadOnlyList<string> backendKeys)
    {
        try
        {
            await ForgetSharedReadsAfterAsync(removal, backendKeys).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            _held.OnBackendWriteFailed(BackendOperation.Remove, string.Join(",", keys), ex);
        }
    }

    /// <summary>
    /// After this process writes or removes keys, a caller must not join a read of them that started before: it would
    /// get what was there before the write (the writer's next read would not see its own write).
    /// </summary>
    private async ValueTask ForgetSharedReadsAfterAsync(ValueTask write, params IEnumerable<string> backendKeys)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            foreach (string backendKey in backendKeys)
            {
                _sharedReads.Forget(backendKey);
            }
        }
    }

    private async ValueTask<bool> ForgetSharedReadAfterAsync(ValueTask<bool> removal, string key, string backendKey)
    {
        try
        {
            return await removal.ConfigureAwait(false);
        }
        finally
        {
            _sharedReads.Forget(backendKey);
            _near?.Evict(key, backendKey);
        }
    }
}
