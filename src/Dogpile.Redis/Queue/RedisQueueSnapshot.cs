namespace Dogpile.Redis;

/// <summary>The refresh queue's state in Redis, and this process's job counters, at one moment.</summary>
public sealed record RedisQueueSnapshot
{
    /// <summary>Jobs in the stream not yet completed (<c>XLEN</c>; completed jobs are deleted from the stream).</summary>
    public long Length { get; init; }

    /// <summary>Jobs delivered to a worker and not yet acknowledged (<c>XPENDING</c>).</summary>
    public long Pending { get; init; }

    /// <summary>Jobs in the dead-letter stream.</summary>
    public long DeadLetterLength { get; init; }

    /// <summary>The age of the oldest job not yet completed (the queue's lag); <see cref="TimeSpan.Zero"/> when empty.</summary>
    public TimeSpan Lag { get; init; }

    /// <summary>Jobs this process added to the queue.</summary>
    public long Enqueued { get; init; }

    /// <summary>Refreshes this process dropped because their key already had a pending job.</summary>
    public long Deduplicated { get; init; }

    /// <summary>Refreshes this process could not enqueue (Redis failed); they ran in process instead.</summary>
    public long EnqueueFailures { get; init; }

    /// <summary>Jobs this process's workers completed (refreshed, found fresh, or superseded).</summary>
    public long Completed { get; init; }

    /// <summary>Job runs that failed in this process's workers (each retried until the attempts run out).</summary>
    public long Failed { get; init; }

    /// <summary>Jobs this process's workers moved to the dead-letter stream.</summary>
    public long DeadLettered { get; init; }

    /// <summary>Jobs this process's workers took over from other (dead or slow) consumers.</summary>
    public long Reclaimed { get; init; }
}
