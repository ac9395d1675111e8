using System.Globalization;
using System.Text;
using Dogpile.Redis.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// Operations on what Dogpile keeps in Redis, for an operator or a script: the refresh queue's state, its dead letters
/// (list, show, replay, purge), the held creation locks, one key's entry, lock and pending job, removing a key, and
/// invalidating a region so that every running process applies it. The <c>dogpile</c> CLI is a thin layer over it.
/// </summary>
/// <remarks>
/// <para>It reads the key layout from the <see cref="DogpileRedis"/> it is given: build that with the same
/// <see cref="DogpileRedisOptions.KeyPrefix"/>, <see cref="DogpileRedisOptions.QueueName"/> and
/// <see cref="DogpileRedisOptions.ConsumerGroup"/> as the applications. Cache keys are taken as backend keys: the
/// region's <see cref="CacheRegionOptions.KeyPrefix"/> (<c>{region name}:</c> when <see cref="DogpileRedis.ApplyTo"/>
/// set it) followed by the caller's key.</para>
/// <para>Every call is bounded by <see cref="DogpileRedisOptions.OperationTimeout"/> and throws
/// <see cref="DogpileRedisUnavailableException"/> when Redis does not answer; the scans (<see cref="ListLocksAsync"/>,
/// <see cref="RegionIsKnownAsync"/>) walk the keyspace with <c>SCAN</c> and are bounded per page.</para>
/// </remarks>
public sealed class DogpileRedisAdmin
{
    /// <summary>
    /// KEYS: dead-letter stream, job stream, pending marker. ARGV: dead-letter id, new job id, marker ttl ms, max length,
    /// channel, enqueued-at ms, set marker ("1"/"0"). Moves one dead letter back to the job stream as a new job (new id,
    /// so its failure count starts again; no lock token: the worker takes a fresh lock), sets the key's pending marker
    /// unless one is set, deletes the dead letter and wakes the workers, all in one step. Returns the new entry id, or
    /// nil when no such dead letter exists.
    /// </summary>
    private const string ReplayScript = """
        local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
        if #found == 0 then return false end
        local source = found[1][2]
        local skip = {reason = true, entryId = true, consumer = true, deadLetteredAt = true, job = true, token = true, fence = true, enqueuedAt = true}
        local fields = {}
        for i = 1, #source, 2 do
          if not skip[source[i]] then
            fields[#fields + 1] = source[i]
            fields[#fields + 1] = source[i + 1]
          end
        end
        fields[#fields + 1] = 'job'
        fields[#fields + 1] = ARGV[2]
        fields[#fields + 1] = 'token'
        fields[#fields + 1] = ''
        fields[#fields + 1] = 'fence'
        fields[#fields + 1] = '0'
        fields[#fields + 1] = 'enqueuedAt'
        fields[#fields + 1] = ARGV[6]
        if ARGV[7] == '1' then redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) end
        local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
        redis.call('XDEL', KEYS[1], ARGV[1])
        redis.call('PUBLISH', ARGV[5], id)
        return id
        """;

    private const int PendingJobSearchLimit = 1000;
    private const int ScanPageSize = 1000;
    private const int PreviewLength = 200;

    private readonly DogpileRedis _redis;
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;

    /// <summary>Creates the admin over <paramref name="redis"/>'s connection and key layout.</summary>
    /// <param name="redis">The Redis parts, built with the applications' key prefix, queue name and consumer group.</param>
    public DogpileRedisAdmin(DogpileRedis redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        _connection = redis.Connection;
        _keys = _connection.Keys;
        _time = redis.TimeProvider;
    }

    /// <summary>Round-trips a <c>PING</c>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The round-trip time.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
        => _connection.RunAsync(db => db.PingAsync(), "PING", cancellationToken);

    /// <summary>Reads the queue: its length, pending and backlog counts, the oldest ages, retries, dead letters and consumers.</summary>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The status.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisQueueStatus> GetQueueStatusAsync(CancellationToken cancellationToken = default)
    {
        string stream = _keys.JobStream;
        string group = _redis.Options.ConsumerGroup;
        long deadLetters = await _connection.RunAsync(db => db.StreamLengthAsync(_keys.DeadLetterStream), "XLEN", cancellationToken).ConfigureAwait(false);
        long retrying = await _connection.RunAsync(db => db.HashLengthAsync(_keys.Failures), "HLEN", cancellationToken).ConfigureAwait(false);
        bool exists = await _connection.RunAsync(db => db.KeyExistsAsync(stream), "EXISTS", cancellationToken).ConfigureAwait(false);
        if (!exists)
        {
            return new RedisQueueStatus { DeadLetters = deadLetters, Retrying = retrying };
        }

        StreamInfo info = await _connection.RunAsync(db => db.StreamInfoAsync(stream), "XINFO STREAM", cancellationToken).ConfigureAwait(false);
        StreamGroupInfo[] groups = await _connection.RunAsync(db => db.StreamGroupInfoAsync(stream), "XINFO GROUPS", cancellationToken).ConfigureAwait(false);
        StreamEntry[] first = await _connection.RunAsync(db => db.StreamRangeAsync(stream, "-", "+", 1), "XRANGE", cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = _time.GetUtcNow();
        TimeSpan? oldest = first.Length > 0 ? AgeOf((string?)first[0].Id, now) : null;
        StreamGroupInfo? ours = groups.Where(g => g.Name == group).Select(g => (StreamGroupInfo?)g).FirstOrDefault();
        if (ours is not { } groupInfo)
        {
            return new RedisQueueStatus
            {
                StreamExists = true,
                Length = info.Length,
                DeadLetters = deadLetters,
                Retrying = retrying,
                OldestJobAge = oldest,
                EntriesAdded = info.EntriesAdded,
            };
        }

        StreamPendingInfo pending = await _connection.RunAsync(db => db.StreamPendingAsync(stream, group), "XPENDING", cancellationToken).ConfigureAwait(false);
        StreamConsumerInfo[] consumers = await _connection.RunAsync(db => db.StreamConsumerInfoAsync(stream, group), "XINFO CONSUMERS", cancellationToken).ConfigureAwait(false);
        return new RedisQueueStatus
        {
            StreamExists = true,
            GroupExists = true,
            Length = info.Length,
            Pending = pending.PendingMessageCount,
            Retrying = retrying,
            DeadLetters = deadLetters,
            OldestJobAge = oldest,
            OldestPendingAge = pending.PendingMessageCount > 0 ? AgeOf((string?)pending.LowestPendingMessageId, now) : null,
            EntriesAdded = info.EntriesAdded,
            EntriesRead = groupInfo.EntriesRead ?? 0,
            Consumers = [.. consumers.Select(c => new RedisConsumerStatus(c.Name, c.PendingMessageCount, TimeSpan.FromMilliseconds(c.IdleTimeInMilliseconds)))],
        };
    }

    /// <summary>Lists dead letters, oldest first.</summary>
    /// <param name="count">The most to return.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dead letters.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<IReadOnlyList<RedisDeadLetter>> ListDeadLettersAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.DeadLetterStream, "-", "+", count), "XRANGE", cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(ToDeadLetter)];
    }

    /// <summary>Reads one dead letter.</summary>
    /// <param name="id">Its stream id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dead letter, or <see langword="null"/> when no dead letter has that id.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a stream id (<c>milliseconds-sequence</c>).</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisDeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        RequireStreamId(id);
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.DeadLetterStream, id, id), "XRANGE", cancellationToken).ConfigureAwait(false);
        return entries.Length == 0 ? null : ToDeadLetter(entries[0]);
    }

    /// <summary>
    /// Puts dead letters back on the job stream, each as a new job (a new job id, so its attempts start from zero, and
    /// no lock token: the worker takes a fresh lock), and deletes them from the dead-letter stream; each move is one
    /// atomic script. The workers are woken.
    /// </summary>
    /// <param name="ids">The dead-letter ids.</param>
    /// <param name="cancellationToken">Cancels the calls not yet made.</param>
    /// <returns>Which were replayed (with their new jobs) and which named no dead letter.</returns>
    /// <exception cref="ArgumentException">An id is not a stream id; nothing was done.</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time (those replayed before stay replayed).</exception>
    public async ValueTask<RedisReplayResult> ReplayAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        string[] wanted = RequireStreamIds(ids);
        var replayed = new List<RedisReplayedJob>();
        var notFound = new List<string>();
        foreach (string id in wanted)
        {
            RedisDeadLetter? dead = await GetDeadLetterAsync(id, cancellationToken).ConfigureAwait(false);
            if (dead is null)
            {
                notFound.Add(id);
                continue;
            }

            string jobId = Guid.NewGuid().ToString("N");
            bool hasKey = dead.BackendKey.Length > 0;
            RedisValue[] args =
            [
                id,
                jobId,
                (long)_redis.Options.DeduplicationWindow.TotalMilliseconds,
                _redis.Options.StreamMaxLength,
                _keys.JobAddedChannel,
                _time.GetUtcNow().ToUnixTimeMilliseconds(),
                hasKey ? "1" : "0",
            ];
            RedisResult result = await _connection.RunAsync(
                db => db.ScriptEvaluateAsync(ReplayScript, [_keys.DeadLetterStream, _keys.JobStream, _keys.PendingMarker(dead.BackendKey)], args),
                "dead-letter replay",
                cancellationToken).ConfigureAwait(false);
            if (result.IsNull)
            {
                // Purged or replayed by someone else between the read and the script.
                notFound.Add(id);
                continue;
            }

            replayed.Add(new RedisReplayedJob(id, (string)result!, jobId, dead.Region, dead.Function, dead.Key));
        }

        return new RedisReplayResult(replayed, notFound);
    }

    /// <summary>Deletes dead letters.</summary>
    /// <param name="ids">The dead-letter ids.</param>
    /// <param name="cancellationToken">Cancels the calls not yet made.</param>
    /// <returns>Which were deleted and which named no dead letter.</returns>
    /// <exception cref="ArgumentException">An id is not a stream id; nothing was done.</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time (those deleted before stay deleted).</exception>
    public async ValueTask<RedisPurgeResult> PurgeAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        string[] wanted = RequireStreamIds(ids);
        var purged = new List<string>();
        var notFound = new List<string>();
        foreach (string id in wanted)
        {
            long deleted = await _connection.RunAsync(db => db.StreamDeleteAsync(_keys.DeadLetterStream, [id]), "XDEL", cancellationToken).ConfigureAwait(false);
            (deleted > 0 ? purged : notFound).Add(id);
        }

        return new RedisPurgeResult(purged, notFound);
    }

    /// <summary>
    /// Deletes every dead letter there is now: the ids are listed first and exactly those are deleted, so one that
    /// arrives meanwhile is kept.
    /// </summary>
    /// <param name="cancellationToken">Cancels the calls not yet made.</param>
    /// <returns>The ids deleted.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time (those deleted before stay deleted).</exception>
    public async ValueTask<RedisPurgeResult> PurgeAllAsync(CancellationToken cancellationToken = default)
    {
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.DeadLetterStream, "-", "+"), "XRANGE", cancellationToken).ConfigureAwait(false);
        var purged = new List<string>(entries.Length);
        foreach (StreamEntry[] chunk in entries.Chunk(500))
        {
            RedisValue[] chunkIds = [.. chunk.Select(e => e.Id)];
            _ = await _connection.RunAsync(db => db.StreamDeleteAsync(_keys.DeadLetterStream, chunkIds), "XDEL", cancellationToken).ConfigureAwait(false);
            purged.AddRange(chunk.Select(e => (string)e.Id!));
        }

        return new RedisPurgeResult(purged, []);
    }

    /// <summary>Finds the held creation locks (a <c>SCAN</c> for lock keys), with owner, remaining lease and fence.</summary>
    /// <param name="max">The most to return.</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The locks found, in scan order.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<IReadOnlyList<RedisLockInfo>> ListLocksAsync(int max = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        string pattern = EscapeGlob(_keys.Prefix) + ":{*}:lock";
        var locks = new List<RedisLockInfo>();
        await foreach (RedisKey key in ScanAsync(pattern, cancellationToken).ConfigureAwait(false))
        {
            string redisKey = (string)key!;
            string backendKey = redisKey[(_keys.Prefix.Length + 2)..^"}:lock".Length];
            RedisLockInfo? held = await ReadLockAsync(backendKey, cancellationToken).ConfigureAwait(false);
            if (held is not null)
            {
                locks.Add(held);
                if (locks.Count >= max)
                {
                    break;
                }
            }
        }

        return locks;
    }

    /// <summary>Reads one key: its entry's times, size and state, its lock, its pending refresh job, and the region's invalidations.</summary>
    /// <param name="regionName">The region's name (for its invalidation marks).</param>
    /// <param name="backendKey">The backend key: the region's key prefix followed by the key.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>What Redis holds for the key.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisKeyInfo> InspectKeyAsync(string regionName, string backendKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);
        ArgumentException.ThrowIfNullOrEmpty(backendKey);
        string valueKey = _keys.Value(backendKey);
        RedisValue bytes = await _connection.RunAsync(db => db.StringGetAsync(valueKey), "GET", cancellationToken).ConfigureAwait(false);
        TimeSpan? ttl = await _connection.RunAsync(db => db.KeyTimeToLiveAsync(valueKey), "PTTL", cancellationToken).ConfigureAwait(false);
        RegionInvalidation marks = await ((RedisInvalidationStore)_redis.InvalidationStore).LoadAsync(regionName, cancellationToken).ConfigureAwait(false);
        RedisLockInfo? held = await ReadLockAsync(backendKey, cancellationToken).ConfigureAwait(false);
        RedisPendingJobInfo? job = await ReadPendingJobAsync(backendKey, cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = _time.GetUtcNow();
        var info = new RedisKeyInfo
        {
            Region = regionName,
            BackendKey = backendKey,
            RedisKey = valueKey,
            Lock = held,
            PendingJob = job,
            HardInvalidatedAt = marks.HardUtcTicks > 0 ? new DateTimeOffset(marks.HardUtcTicks, TimeSpan.Zero) : null,
            SoftInvalidatedAt = marks.SoftUtcTicks > 0 ? new DateTimeOffset(marks.SoftUtcTicks, TimeSpan.Zero) : null,
        };
        if (bytes.IsNull)
        {
            return info;
        }

        byte[] raw = (byte[])bytes!;
        info = info with { Exists = true, SizeBytes = raw.Length, StaleUntil = ttl is { } t ? now + t : null };
        if (!CacheEntry.TryFromBytes(raw, out CacheEntry? entry))
        {
            return info with { State = "unreadable" };
        }

        DateTimeOffset? freshUntil = entry.Expiration is { } e && entry.CreatedUtcTicks + e.Ticks is long until && until > entry.CreatedUtcTicks && until <= DateTimeOffset.MaxValue.UtcTicks
            ? new DateTimeOffset(until, TimeSpan.Zero)
            : null;
        string state = entry.CreatedUtcTicks <= marks.HardUtcTicks ? "invalidated"
            : entry.CreatedUtcTicks <= marks.SoftUtcTicks || (freshUntil is { } f && now >= f) ? "stale"
            : "fresh";
        return info with
        {
            Created = entry.Created,
            CreationDuration = entry.CreationDuration,
            FreshUntil = freshUntil,
            State = state,
            PayloadPreview = Preview(entry.Payload.Span),
        };
    }

    /// <summary>
    /// Deletes a key's value, with the change notice of any removal: every process then misses it, in Redis and, once the
    /// notice has reached it, in its near cache.
    /// </summary>
    /// <param name="backendKey">The backend key: the region's key prefix followed by the key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether a value was deleted.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public ValueTask<bool> RemoveAsync(string backendKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(backendKey);
        return _redis.Backend.RemoveAsync(backendKey, cancellationToken);
    }

    /// <summary>
    /// Invalidates a region in every process that shares invalidations through this Redis (as
    /// <see cref="CacheRegion.InvalidateAsync"/> does): values created up to now count as missing (hard) or stale (soft).
    /// </summary>
    /// <param name="regionName">The region's name.</param>
    /// <param name="mode">Hard or soft.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mark published (this machine's clock: values the applications created before it are affected).</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisInvalidationResult> InvalidateRegionAsync(string regionName, InvalidationMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);
        DateTimeOffset now = _time.GetUtcNow();
        RegionInvalidation marks = mode == InvalidationMode.Hard ? new(now.UtcTicks, 0) : new(0, now.UtcTicks);
        await _redis.InvalidationStore.PublishAsync(regionName, marks, cancellationToken).ConfigureAwait(false);
        return new RedisInvalidationResult(regionName, mode, now);
    }

    /// <summary>
    /// Invalidates every value carrying <paramref name="tag"/> in a region, in every process that shares invalidations
    /// through this Redis (as <see cref="CacheRegion.InvalidateTagAsync"/> does).
    /// </summary>
    /// <param name="regionName">The region's name.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="mode">Hard or soft.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mark published (this machine's clock: tagged values the applications created before it are affected).</returns>
    /// <exception cref="ArgumentException">The tag is not valid (see <see cref="CacheEntryOptions.Tags"/>).</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisInvalidationResult> InvalidateTagAsync(string regionName, string tag, InvalidationMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);

        // The entry options hold the one definition of a valid tag.
        _ = new CacheEntryOptions { Tags = [tag] };
        DateTimeOffset now = _time.GetUtcNow();
        RegionInvalidation marks = mode == InvalidationMode.Hard ? new(now.UtcTicks, 0) : new(0, now.UtcTicks);
        await _redis.InvalidationStore.PublishTagAsync(regionName, tag, marks, cancellationToken).ConfigureAwait(false);
        return new RedisInvalidationResult(regionName, mode, now);
    }

    /// <summary>
    /// Whether Redis has any trace of a region: its invalidation record, or a value under its key prefix (a
    /// <c>SCAN</c> that stops at the first). Guards against acting on a misspelt region name.
    /// </summary>
    /// <param name="regionName">The region's name.</param>
    /// <param name="keyPrefix">The region's key prefix (<c>{region name}:</c> unless the application set another).</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>Whether the region is known.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<bool> RegionIsKnownAsync(string regionName, string keyPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        if (await _connection.RunAsync(db => db.KeyExistsAsync([_keys.Invalidation(regionName), _keys.TagInvalidation(regionName)]), "EXISTS", cancellationToken).ConfigureAwait(false) > 0)
        {
            return true;
        }

        string pattern = string.Concat(EscapeGlob(_keys.Prefix), ":{", EscapeGlob(keyPrefix), "*}:v");
        await foreach (RedisKey _ in ScanAsync(pattern, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    private async ValueTask<RedisLockInfo?> ReadLockAsync(string backendKey, CancellationToken cancellationToken)
    {
        string lockKey = _keys.Lock(backendKey);
        RedisValue owner = await _connection.RunAsync(db => db.StringGetAsync(lockKey), "GET", cancellationToken).ConfigureAwait(false);
        if (owner.IsNull)
        {
            return null;
        }

        TimeSpan? lease = await _connection.RunAsync(db => db.KeyTimeToLiveAsync(lockKey), "PTTL", cancellationToken).ConfigureAwait(false);
        RedisValue fence = await _connection.RunAsync(db => db.StringGetAsync(_keys.Fence(backendKey)), "GET", cancellationToken).ConfigureAwait(false);
        return new RedisLockInfo(backendKey, (string)owner!, lease, fence.TryParse(out long f) ? f : null);
    }

    private async ValueTask<RedisPendingJobInfo?> ReadPendingJobAsync(string backendKey, CancellationToken cancellationToken)
    {
        string marker = _keys.PendingMarker(backendKey);
        RedisValue jobId = await _connection.RunAsync(db => db.StringGetAsync(marker), "GET", cancellationToken).ConfigureAwait(false);
        if (jobId.IsNull)
        {
            return null;
        }

        TimeSpan? markerTtl = await _connection.RunAsync(db => db.KeyTimeToLiveAsync(marker), "PTTL", cancellationToken).ConfigureAwait(false);
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.JobStream, "-", "+", PendingJobSearchLimit), "XRANGE", cancellationToken).ConfigureAwait(false);
        StreamEntry match = entries.FirstOrDefault(e => e[JobFields.Job] == jobId);
        if (match.IsNull)
        {
            return new RedisPendingJobInfo((string)jobId!, markerTtl, null, null, 0);
        }

        StreamPendingMessageInfo[] delivered;
        try
        {
            delivered = await _connection.RunAsync(
                db => db.StreamPendingMessagesAsync(_keys.JobStream, _redis.Options.ConsumerGroup, 1, RedisValue.Null, match.Id, match.Id),
                "XPENDING",
                cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            delivered = [];
        }

        return delivered.Length == 0
            ? new RedisPendingJobInfo((string)jobId!, markerTtl, (string)match.Id!, null, 0)
            : new RedisPendingJobInfo((string)jobId!, markerTtl, (string)match.Id!, (string)delivered[0].ConsumerName!, delivered[0].DeliveryCount);
    }

    /// <summary>SCAN on every primary; the first call checks the connection so a wrong address fails with the usual message.</summary>
    private async IAsyncEnumerable<RedisKey> ScanAsync(string pattern, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _ = await PingAsync(cancellationToken).ConfigureAwait(false);
        IConnectionMultiplexer multiplexer = await _connection.GetMultiplexerAsync().ConfigureAwait(false);
        int database = multiplexer.GetDatabase().Database;
        foreach (IServer server in multiplexer.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            IAsyncEnumerator<RedisKey> keys = server.KeysAsync(database, pattern, ScanPageSize).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    bool more;
                    long started = _time.GetTimestamp();
                    try
                    {
                        more = await keys.MoveNextAsync().AsTask().WaitAsync(_connection.Timeout, _time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (RedisConnection.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
                    {
                        throw _connection.Unavailable("SCAN", ex, _time.GetElapsedTime(started));
                    }

                    if (!more)
                    {
                        break;
                    }

                    yield return keys.Current;
                }
            }
            finally
            {
                await keys.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static RedisDeadLetter ToDeadLetter(StreamEntry entry)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (NameValueEntry field in entry.Values)
        {
            fields[(string)field.Name!] = (string?)field.Value ?? "";
        }

        return new RedisDeadLetter
        {
            Id = (string)entry.Id!,
            Reason = fields.GetValueOrDefault("reason", ""),
            JobId = fields.GetValueOrDefault(JobFields.Job, ""),
            Region = fields.GetValueOrDefault(JobFields.Region, ""),
            Function = fields.GetValueOrDefault(JobFields.Function, ""),
            Key = fields.GetValueOrDefault(JobFields.Key, ""),
            BackendKey = fields.GetValueOrDefault(JobFields.BackendKey, ""),
            Consumer = fields.GetValueOrDefault("consumer", ""),
            EntryId = fields.GetValueOrDefault("entryId", ""),
            EnqueuedAt = UnixMs(fields.GetValueOrDefault(JobFields.EnqueuedAt)),
            DeadLetteredAt = UnixMs(fields.GetValueOrDefault("deadLetteredAt")),
            Fields = fields,
        };
    }

    private static DateTimeOffset? UnixMs(string? text)
        => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    /// <summary>The age of a stream entry from the milliseconds part of its id.</summary>
    private static TimeSpan? AgeOf(string? id, DateTimeOffset now)
    {
        int dash = id?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        if (dash <= 0 || UnixMs(id![..dash]) is not { } added)
        {
            return null;
        }

        TimeSpan age = now - added;
        return age < TimeSpan.Zero ? TimeSpan.Zero : age;
    }

    private static string? Preview(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return "";
        }

        string text = Encoding.UTF8.GetString(payload[..Math.Min(payload.Length, PreviewLength * 4)]);
        return text.Length <= PreviewLength ? text : string.Concat(text.AsSpan(0, PreviewLength - 3), "...");
    }

    private static string[] RequireStreamIds(IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        string[] all = [.. ids.Distinct(StringComparer.Ordinal)];
        foreach (string id in all)
        {
            RequireStreamId(id);
        }

        return all;
    }

    private static void RequireStreamId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        int dash = id.IndexOf('-', StringComparison.Ordinal);
        bool valid = dash > 0 && dash < id.Length - 1
            && ulong.TryParse(id.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && ulong.TryParse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _);
        if (!valid)
        {
            throw new ArgumentException($"'{id}' is not a stream id (milliseconds-sequence, for example 1700000000000-0).", nameof(id));
        }
    }

    /// <summary>Escapes the characters SCAN's MATCH treats as a pattern, so a prefix is matched literally.</summary>
    private static string EscapeGlob(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
