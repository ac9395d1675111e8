using System.Collections.Concurrent;

namespace Dogpile.Testing;

/// <summary>
/// A byte-oriented in-memory backend for tests: stores exactly the envelope a remote store would, so the
/// serialization path (and corrupt payloads) can be exercised without a server.
/// </summary>
public sealed class BytesMemoryBackend(TimeProvider time, int maxKeyLength = 1024, int maxValueBytes = 1024 * 1024) : ICacheBackend
{
    private readonly ConcurrentDictionary<string, (byte[] Data, DateTimeOffset? DropAt)> _data = new(StringComparer.Ordinal);

    public bool StoresObjects => false;

    public int MaxKeyLength => maxKeyLength;

    public IReadOnlyCollection<string> Keys => _data.Keys.ToArray();

    /// <summary>Overwrites the stored bytes of a key, for corrupt-payload tests.</summary>
    public void Corrupt(string key, byte[] data) => _data[key] = (data, null);

    public byte[]? Raw(string key) => _data.TryGetValue(key, out var slot) ? slot.Data : null;

    public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (!_data.TryGetValue(key, out var slot))
        {
            return new((CacheEntry?)null);
        }

        if (slot.DropAt is { } dropAt && time.GetUtcNow() >= dropAt)
        {
            _data.TryRemove(key, out _);
            return new((CacheEntry?)null);
        }

        return new(CacheEntry.FromBytes(slot.Data));
    }

    public async ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var result = new CacheEntry?[keys.Count];
        for (int i = 0; i < result.Length; i++)
        {
            try
            {
                result[i] = await GetAsync(keys[i], cancellationToken);
            }
            catch (CacheSerializationException)
            {
                result[i] = null;
            }
        }

        return result;
    }

    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        byte[] data = entry.ToBytes();
        if (data.Length > maxValueBytes)
        {
            throw new CacheValueTooLargeException(key, data.Length, maxValueBytes);
        }

        _data[key] = (data, timeToLive is { } ttl ? time.GetUtcNow() + ttl : null);
        return ValueTask.CompletedTask;
    }

    public async ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        foreach (CacheWrite write in entries)
        {
            await SetAsync(write.Key, write.Entry, write.TimeToLive, cancellationToken);
        }
    }

    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken) => new(_data.TryRemove(key, out _));

    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (string key in keys)
        {
            _data.TryRemove(key, out _);
        }

        return ValueTask.CompletedTask;
    }
}
