using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// Entries as their envelope bytes (<see cref="CacheEntry.ToBytes"/>) at <c>{prefix}:{backendKey}:v</c>, with the
/// region's time to live as the Redis TTL. Writes under a lock go through one fenced script.
/// </summary>
internal sealed class RedisCacheBackend(RedisConnection connection, LocalFallback local, int maxValueBytes, ILogger logger) : IFencedCacheBackend
{
    public bool StoresObjects => false;

    /// <summary>The policy of <see cref="DogpileRedisOptions.FailurePolicy"/>, for regions that set none.</summary>
    public CacheBackendFailurePolicy? FailurePolicy { get; init; }

    /// <summary>The connection (and key layout) the entries live under; a lock provider on it reads them too.</summary>
    internal RedisConnection Connection => connection;

    // Redis accepts far longer keys; this bounds what a mangler-less region can send.
    public int MaxKeyLength => 8192;

    // Pooled box: every read suspends here for its round trip.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        RedisValue value;
        long started = connection.Time.GetTimestamp();
        try
        {
            // The read every hit makes: awaited directly when the multiplexer's own timeout bounds it (no closure, no
            // second state machine, no timer), through the bounded wrapper otherwise.
            // Measured or traced reads take the wrapper too (RedisTelemetry): only when someone listens.
            IDatabase? direct = cancellationToken.CanBeCanceled || RedisTelemetry.Observed ? null : connection.DirectDatabase;
            value = direct is not null
                ? await direct.StringGetAsync(connection.Keys.Value(key)).ConfigureAwait(false)
                : await connection.RunAsync(db => db.StringGetAsync(connection.Keys.Value(key)), "GET", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DogpileRedisUnavailableException || (RedisConnection.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested))
        {
            if (ex is not DogpileRedisUnavailableException)
            {
                // The direct call bypassed RunAsync: its failure opens the breaker here.
                connection.DirectCallFailed(ex);
            }

            if (!local.TryGet(key, out byte[] held))
            {
                if (ex is DogpileRedisUnavailableException)
                {
                    throw;
                }

                throw connection.Unavailable("GET", ex, connection.Time.GetElapsedTime(started));
            }

            Log.ServedFromLocalFallback(logger, ex, key);
            return CacheEntry.FromBytes(held);
        }

        if (value.IsNull)
        {
            local.Remove(key);
            return null;
        }

        byte[] bytes = (byte[])value!;
        CacheEntry entry = CacheEntry.FromBytes(bytes);
        local.Put(key, bytes);
        return entry;
    }

    public async ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var redisKeys = new RedisKey[keys.Count];
        for (int i = 0; i < redisKeys.Length; i++)
        {
            redisKeys[i] = connection.Keys.Value(keys[i]);
        }

        var entries = new CacheEntry?[keys.Count];
        RedisValue[] values;
        try
        {
            values = await connection.RunAsync(db => GetAcrossSlotsAsync(db, redisKeys), "MGET", cancellationToken).ConfigureAwait(false);
        }
        catch (DogpileRedisUnavailableException ex) when (local.Enabled)
        {
            bool any = false;
            for (int i = 0; i < entries.Length; i++)
            {
                entries[i] = local.TryGet(keys[i], out byte[] held) && CacheEntry.TryFromBytes(held, out CacheEntry? heldEntry) ? heldEntry : null;
                any |= entries[i] is not null;
            }

            if (!any)
            {
                throw;
            }

            Log.ServedFromLocalFallback(logger, ex, keys[0]);
            return entries;
        }

        for (int i = 0; i < entries.Length; i++)
        {
            if (!values[i].IsNull)
            {
                byte[] bytes = (byte[])values[i]!;
                entries[i] = CacheEntry.TryFromBytes(bytes, out CacheEntry? decoded) ? decoded : null;
                if (entries[i] is not null)
                {
                    local.Put(keys[i], bytes);
                }
            }
        }

        return entries;
    }

    public async ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        byte[] bytes = Encode(key, entry);
        TimeSpan? expiry = ToExpiry(timeToLive);
        await connection.RunAsync(db => expiry is { } e ? db.StringSetAsync(connection.Keys.Value(key), bytes, e) : db.StringSetAsync(connection.Keys.Value(key), bytes), "SET", cancellationToken).ConfigureAwait(false);
        local.Put(key, bytes);
    }

    public async ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        // Encode (and size-check) everything first: an oversized value means nothing is written.
        byte[][] encoded = new byte[entries.Count][];
        for (int i = 0; i < encoded.Length; i++)
        {
            encoded[i] = Encode(entries[i].Key, entries[i].Entry);
        }

        await connection.RunAsync(
            db =>
            {
                IBatch batch = db.CreateBatch();
                var writes = new Task[encoded.Length];
                for (int i = 0; i < encoded.Length; i++)
                {
                    RedisKey redisKey = connection.Keys.Value(entries[i].Key);
                    writes[i] = ToExpiry(entries[i].TimeToLive) is { } e ? batch.StringSetAsync(redisKey, encoded[i], e) : batch.StringSetAsync(redisKey, encoded[i]);
                }

                batch.Execute();
                return Task.WhenAll(writes);
            },
            "SET (batch)",
            cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < encoded.Length; i++)
        {
            local.Put(entries[i].Key, encoded[i]);
        }
    }

    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        local.Remove(key);
        return await connection.RunAsync(db => db.KeyDeleteAsync(connection.Keys.Value(key)), "DEL", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return;
        }

        var redisKeys = new RedisKey[keys.Count];
        for (int i = 0; i < redisKeys.Length; i++)
        {
            local.Remove(keys[i]);
            redisKeys[i] = connection.Keys.Value(keys[i]);
        }

        await connection.RunAsync(db => DeleteAcrossSlotsAsync(db, redisKeys), "DEL", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One <c>MGET</c>; on a cluster, where each key's tag puts it in its own slot and a multi-key command must stay in
    /// one, one <c>MGET</c> per slot (see <see cref="PerSlot"/>).
    /// </summary>
    private Task<RedisValue[]> GetAcrossSlotsAsync(IDatabase db, RedisKey[] keys)
    {
        List<int[]>? groups = SlotGroups(db.Multiplexer, keys);
        return groups is null ? db.StringGetAsync(keys) : GatherAsync(groups, PerSlot(db, groups, keys, static (batch, slotKeys) => batch.StringGetAsync(slotKeys)), keys.Length);

        static async Task<RedisValue[]> GatherAsync(List<int[]> groups, Task<RedisValue[]>[] reads, int count)
        {
            await Task.WhenAll(reads).ConfigureAwait(false);
            var values = new RedisValue[count];
            for (int g = 0; g < reads.Length; g++)
            {
                RedisValue[] part = reads[g].Result;
                for (int j = 0; j < part.Length; j++)
                {
                    values[groups[g][j]] = part[j];
                }
            }

            return values;
        }
    }

    /// <summary>One <c>DEL</c>, or on a cluster one per slot (see <see cref="PerSlot"/>).</summary>
    private Task DeleteAcrossSlotsAsync(IDatabase db, RedisKey[] keys)
    {
        List<int[]>? groups = SlotGroups(db.Multiplexer, keys);
        return groups is null ? db.KeyDeleteAsync(keys) : Task.WhenAll(PerSlot(db, groups, keys, static (batch, slotKeys) => batch.KeyDeleteAsync(slotKeys)));
    }

    /// <summary>Sends one command per slot group, all in one batch: a round trip per node, in parallel.</summary>
    private static Task<T>[] PerSlot<T>(IDatabase db, List<int[]> groups, RedisKey[] keys, Func<IBatch, RedisKey[], Task<T>> command)
    {
        IBatch batch = db.CreateBatch();
        var sent = new Task<T>[groups.Count];
        for (int g = 0; g < sent.Length; g++)
        {
            sent[g] = command(batch, Array.ConvertAll(groups[g], i => keys[i]));
        }

        batch.Execute();
        return sent;
    }

    /// <summary>The keys' indexes grouped by hash slot on a cluster when they span more than one; otherwise null.</summary>
    private List<int[]>? SlotGroups(IConnectionMultiplexer multiplexer, RedisKey[] keys)
    {
        if (keys.Length < 2 || !connection.IsCluster(multiplexer))
        {
            return null;
        }

        List<int[]> groups = Enumerable.Range(0, keys.Length).GroupBy(i => multiplexer.HashSlot(keys[i])).Select(slot => slot.ToArray()).ToList();
        return groups.Count == 1 ? null : groups;
    }

    public async ValueTask<bool> SetAndReleaseAsync(string key, CacheEntry entry, TimeSpan? timeToLive, ICacheLock heldLock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(heldLock);
        byte[] bytes = Encode(key, entry);
        long ttlMs = ToExpiry(timeToLive) is { } expiry ? (long)Math.Ceiling(expiry.TotalMilliseconds) : 0;
        RedisKeys keys = connection.Keys;
        RedisResult result = await connection.RunAsync(
            db => db.ScriptEvaluateAsync(
                Scripts.SetAndRelease,
                [keys.Value(key), keys.Lock(key), keys.Fence(key)],
                [
                    heldLock.FencingToken.ToString(CultureInfo.InvariantCulture), bytes, ttlMs, heldLock.OwnerToken, keys.LockReleasedChannel,
                    ReleaseNotice.Head(key), bytes.Length <= ReleaseNotice.MaxCarriedEntryBytes ? "1" : "0",
                ]),
            "fenced SET",
            cancellationToken).ConfigureAwait(false);
        (heldLock as RedisLockHandle)?.MarkReleased();
        bool written = (long)result == 1;
        if (written)
        {
            local.Put(key, bytes);
        }

        return written;
    }

    private byte[] Encode(string key, CacheEntry entry)
    {
        byte[] bytes = entry.ToBytes();
        if (bytes.Length > maxValueBytes)
        {
            throw new CacheValueTooLargeException(key, bytes.Length, maxValueBytes);
        }

        return bytes;
    }

    /// <summary>Redis rejects a zero or negative PX; a time to live under a millisecond is one millisecond.</summary>
    private static TimeSpan? ToExpiry(TimeSpan? timeToLive)
        => timeToLive is { } ttl ? (ttl < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : ttl) : null;
}
