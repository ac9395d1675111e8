namespace Dogpile.Redis;

/// <summary>The refresh queue as Redis holds it now, read by <see cref="DogpileRedisAdmin.GetQueueStatusAsync"/>.</summary>
public sealed record RedisQueueStatus
{
    /// <summary>Whether the job stream exists (it is created by the first enqueue or the first worker).</summary>
    public bool StreamExists { get; init; }

    /// <summary>Whether the workers' consumer group exists (a worker creates it when it starts).</summary>
    public bool GroupExists { get; init; }

    /// <summary>Jobs not yet completed: waiting and running (<c>XLEN</c>; completed and dead-lettered jobs are deleted).</summary>
    public long Length { get; init; }

    /// <summary>Jobs delivered to a worker and not yet acknowledged: running, or failed and waiting for a retry (<c>XPENDING</c>).</summary>
    public long Pending { get; init; }

    /// <summary>Jobs no worker has read yet: the backlog (<see cref="Length"/> less <see cref="Pending"/>).</summary>
    public long Backlog => Math.Max(0, Length - Pending);

    /// <summary>Jobs whose runs failed at least once and that are not completed or dead-lettered yet.</summary>
    public long Retrying { get; init; }

    /// <summary>Jobs in the dead-letter stream.</summary>
    public long DeadLetters { get; init; }

    /// <summary>The age of the oldest job not completed (the queue's lag); <see langword="null"/> when the queue is empty.</summary>
    public TimeSpan? OldestJobAge { get; init; }

    /// <summary>The age of the oldest job delivered and not acknowledged; <see langword="null"/> when none is pending.</summary>
    public TimeSpan? OldestPendingAge { get; init; }

    /// <summary>Jobs ever added to the stream (<c>XINFO STREAM</c> entries-added): its change over time is the enqueue rate.</summary>
    public long EntriesAdded { get; init; }

    /// <summary>Jobs the group ever read (<c>XINFO GROUPS</c> entries-read): its change over time is the delivery rate.</summary>
    public long EntriesRead { get; init; }

    /// <summary>The group's consumers (one per worker process that ever read), with their pending jobs and idle time.</summary>
    public IReadOnlyList<RedisConsumerStatus> Consumers { get; init; } = [];
}
