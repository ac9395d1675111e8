using Microsoft.Extensions.Logging;

namespace Dogpile.Redis.Internal;

/// <summary>The lock's own log messages (event ids 140-149).</summary>
internal static partial class LockLog
{
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
}
