using Microsoft.Extensions.Logging;

namespace Dogpile.Redis.Internal;

internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Warning, "Redis connection to {EndPoint} failed ({FailureType}); it is retried in the background.")]
    public static partial void ConnectionFailed(ILogger logger, Exception? exception, string endPoint, string failureType);

    [LoggerMessage(101, LogLevel.Warning, "Subscribing to Redis channel '{Channel}' failed; waiters fall back to polling until it succeeds.")]
    public static partial void SubscribeFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(102, LogLevel.Warning, "The change feed's probe could not be published; near caches trust their entries only briefly until it is.")]
    public static partial void ChangeFeedProbeFailed(ILogger logger, Exception exception);

    [LoggerMessage(103, LogLevel.Warning, "Renewing the lock on '{Key}' failed; retrying at the next tick.")]
    public static partial void LockRenewalFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(104, LogLevel.Warning, "The lock on '{Key}' was lost (its lease ended and another owner may hold it); renewal stopped.")]
    public static partial void LockLost(ILogger logger, string key);

    [LoggerMessage(105, LogLevel.Warning, "Loading the invalidation marks of region '{Region}' failed.")]
    public static partial void InvalidationLoadFailed(ILogger logger, Exception exception, string region);

    [LoggerMessage(110, LogLevel.Warning, "Enqueueing the refresh of '{Key}' in region '{Region}' failed; the region runs it in process.")]
    public static partial void EnqueueFailed(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(111, LogLevel.Debug, "The refresh of '{Key}' in region '{Region}' already has a pending job; this one was dropped.")]
    public static partial void EnqueueDeduplicated(ILogger logger, string region, string key);

    [LoggerMessage(120, LogLevel.Warning, "Refresh job {JobId} ({Region}/{Function}) failed on attempt {Attempt} of {MaxAttempts}.")]
    public static partial void JobFailed(ILogger logger, Exception exception, string jobId, string region, string function, long attempt, int maxAttempts);

    [LoggerMessage(121, LogLevel.Error, "Refresh job {EntryId} was moved to the dead-letter stream: {Reason}")]
    public static partial void JobDeadLettered(ILogger logger, string entryId, string reason);

    [LoggerMessage(122, LogLevel.Warning, "The refresh worker's loop failed; it goes on after a pause.")]
    public static partial void WorkerLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(123, LogLevel.Information, "Refresh worker '{Consumer}' stopping with {InFlight} job(s) in flight.")]
    public static partial void WorkerStopping(ILogger logger, string consumer, int inFlight);

    [LoggerMessage(124, LogLevel.Information, "Refresh worker '{Consumer}' took over {Count} job(s) idle with other consumers.")]
    public static partial void JobsReclaimed(ILogger logger, string consumer, int count);

    [LoggerMessage(125, LogLevel.Warning, "A lock release notice carried an unreadable entry; the waiter reads the value from Redis instead.")]
    public static partial void UnreadableReleaseNotice(ILogger logger);

    // The lock's releases of tokens that may hold a lock with no owner (event ids 140-149).
    [LoggerMessage(140, LogLevel.Warning, "The lock on '{Key}' may be held in Redis with no owner (a call failed without an answer), and {Capacity} such locks already wait for their release; this one ends with its lease.")]
    public static partial void PendingReleasesFull(ILogger logger, string key, int capacity);

    [LoggerMessage(141, LogLevel.Warning, "Releasing a lock on '{Key}' that may be held with no owner was given up: Redis did not answer within the retry window; it ends with its lease.")]
    public static partial void PendingReleaseGivenUp(ILogger logger, string key);

    [LoggerMessage(142, LogLevel.Warning, "Releasing a lock on '{Key}' that may be held with no owner failed; it ends with its lease.")]
    public static partial void PendingReleaseFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(143, LogLevel.Error, "The loop releasing locks that may be held with no owner stopped; {Count} end with their lease.")]
    public static partial void PendingReleasesStopped(ILogger logger, Exception exception, int count);

    [LoggerMessage(144, LogLevel.Debug, "The lock call on '{Key}' got no answer; its token is released once Redis answers again.")]
    public static partial void ReleaseScheduled(ILogger logger, Exception exception, string key);

    [LoggerMessage(150, LogLevel.Warning, "Redis circuit breaker opened: calls fail at once (no waiting) and one probe goes through every {Interval} at first, up to every {MaxInterval}.")]
    public static partial void BreakerOpened(ILogger logger, Exception exception, TimeSpan interval, TimeSpan maxInterval);

    [LoggerMessage(151, LogLevel.Information, "Redis circuit breaker closed: Redis answers again after {Duration} unavailable.")]
    public static partial void BreakerClosed(ILogger logger, TimeSpan duration);
}
