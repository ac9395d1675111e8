using StackExchange.Redis;

namespace Dogpile.Redis;

// The refresh queue's state: lengths, pending and backlog counts, ages, retries, consumers.
public sealed partial class DogpileRedisAdmin
{
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
}
