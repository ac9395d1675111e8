using Dogpile.Internal;
using Dogpile.Redis.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

// One key: its entry, lock and pending job; removing its value.
public sealed partial class DogpileRedisAdmin
{
    private const int PendingJobSearchLimit = 1000;

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
        if (!StoredEntryView.TryRead(raw, out StoredEntryView? entry))
        {
            return info with { State = "unreadable" };
        }

        // As the region reads it: the later of the region's mark and the marks of the entry's tags.
        long hard = marks.HardUtcTicks;
        long soft = marks.SoftUtcTicks;
        if (entry.Tags.Count > 0)
        {
            IReadOnlyDictionary<string, RegionInvalidation> tagMarks = await ((RedisInvalidationStore)_redis.InvalidationStore).LoadTagsAsync(regionName, cancellationToken).ConfigureAwait(false);
            foreach (string tag in entry.Tags)
            {
                if (tagMarks.TryGetValue(tag, out RegionInvalidation tagged))
                {
                    hard = Math.Max(hard, tagged.HardUtcTicks);
                    soft = Math.Max(soft, tagged.SoftUtcTicks);
                }
            }
        }

        long created = entry.Created.UtcTicks;
        string state = created <= hard ? "invalidated"
            : created <= soft || (entry.FreshUntil is { } f && now >= f) ? "stale"
            : "fresh";
        return info with
        {
            Created = entry.Created,
            CreationDuration = entry.CreationDuration,
            FreshUntil = entry.FreshUntil,
            State = state,
            PayloadPreview = entry.PayloadPreview,
            Tags = entry.Tags,
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
}
