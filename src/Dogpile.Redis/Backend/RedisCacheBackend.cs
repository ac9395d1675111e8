using System.Globalization;
using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// Entries as their envelope bytes (<see cref="CacheEntry.ToBytes"/>) at <c>{prefix}:{backendKey}:v</c>, with the
/// region's time to live as the Redis TTL. Writes under a lock go through one fenced script. Every write and removal
/// publishes a change notice in the same round trip (<see cref="RedisChangeFeed"/>), so near caches stay coherent.
/// </summary>
internal sealed class RedisCacheBackend(RedisConnection connection, RedisChangeFeed feed, int maxValueBytes) : IFencedCacheBackend, ICacheChangeFeed
{
    public bool StoresObjects => false;

    /// <summary>The policy of <see cref="DogpileRedisOptions.FailurePolicy"/>, for regions that set none.</summary>
    public CacheBackendFailurePolicy? FailurePolicy { get; init; }

    /// <summary>The change notices (also what the near caches of the regions on this backend subscribe to).</summary>
    internal RedisChangeFeed Feed => feed;

    public IDisposable Subscribe(ICacheChangeObserver observer) => feed.Subscribe(observer);

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
        catch (Exception ex) when (ex is not DogpileRedisUnavailableException && RedisConnection.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            // The direct call bypassed RunAsync (which throws only DogpileRedisUnavailableException): its failure opens the breaker here.
            connection.DirectCallFailed(ex);
            throw connection.Unavailable("GET", ex, connection.Time.GetElapsedTime(started));
        }

        return value.IsNull ? null : CacheEntry.FromBytes((byte[])value!);
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
        RedisValue[] values = await connection.RunAsync(db => GetAcrossSlotsAsync(db, redisKeys), "MGET", cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < entries.Length; i++)
        {
            if (!values[i].IsNull)
            {
                entries[i] = CacheEntry.TryFromBytes((byte[])values[i]!, out CacheEntry? decoded) ? decoded : null;
            }
        }

        return entries;
    }

    public async ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        byte[] bytes = Encode(key, entry);
        long ttlMs = ToExpiry(timeToLive) is { } expiry ? (long)Math.Ceiling(expiry.TotalMilliseconds) : 0;
        await connection.RunAsync(
            db => db.ScriptEvaluateAsync(Scripts.SetAndNotify, [connection.Keys.Value(key)], [bytes, ttlMs, feed.Channel, feed.Notice(key), bytes.Length <= ReleaseNotice.MaxCarriedEntryBytes ? "1" : "0"]),
            "SET",
            cancellationToken).ConfigureAwait(false);
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

                // The notices in the same batch, after the writes on the same connection: one round trip.
                Task notices = Notify(batch, entries.Select(e => e.Key));
                batch.Execute();
                return Task.WhenAll(Task.WhenAll(writes), notices);
            },
            "SET (batch)",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues one change notice per key on a batch.</summary>
    private Task<long[]> Notify(IBatch batch, IEnumerable<string> keys)
    {
        RedisChannel channel = RedisChannel.Literal((string)feed.Channel!);
        return Task.WhenAll(keys.Select(key => batch.PublishAsync(channel, feed.Notice(key))));
    }

    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        RedisResult removed = await connection.RunAsync(
            db => db.ScriptEvaluateAsync(Scripts.DeleteAndNotify, [connection.Keys.Value(key)], [feed.Channel, feed.Notice(key)]),
            "DEL",
            cancellationToken).ConfigureAwait(false);
        return (long)removed == 1;
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
            redisKeys[i] = connection.Keys.Value(keys[i]);
        }

        await connection.RunAsync(
            async db =>
            {
                await DeleteAcrossSlotsAsync(db, redisKeys).ConfigureAwait(false);
                IBatch batch = db.CreateBatch();
                Task notices = Notify(batch, keys);
                batch.Execute();
                await notices.ConfigureAwait(false);
            },
            "DEL",
            cancellationToken).ConfigureAwait(false);
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
                    ReleaseNotice.Head(key), bytes.Length <= ReleaseNotice.MaxCarriedEntryBytes ? "1" : "0", feed.Channel, feed.Notice(key),
                ]),
            "fenced SET",
            cancellationToken).ConfigureAwait(false);
        (heldLock as RedisLockHandle)?.MarkReleased();
        return (long)result == 1;
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
