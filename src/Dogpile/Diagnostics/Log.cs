using Microsoft.Extensions.Logging;

namespace Dogpile.Internal;

/// <summary>Source-generated log messages with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Creator for key '{Key}' in region '{Region}' failed.")]
    public static partial void CreatorFailed(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(2, LogLevel.Warning, "Refresh of key '{Key}' in region '{Region}' failed; the stale value stays in service and the key backs off for {Backoff}.")]
    public static partial void RefreshFailed(ILogger logger, Exception exception, string region, string key, TimeSpan backoff);

    [LoggerMessage(3, LogLevel.Warning, "Refresh of key '{Key}' in region '{Region}' skipped: the refresh runner is full.")]
    public static partial void RefreshSkipped(ILogger logger, string region, string key);

    [LoggerMessage(4, LogLevel.Warning, "Stored value for key '{Key}' in region '{Region}' could not be read and counts as a miss.")]
    public static partial void UnreadableEntry(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(5, LogLevel.Warning, "Writing key '{Key}' in region '{Region}' failed; the created value is returned but not cached.")]
    public static partial void BackendWriteFailed(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(6, LogLevel.Error, "The refresh runner failed to run key '{Key}' of region '{Region}'.")]
    public static partial void RunnerRefreshThrew(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(7, LogLevel.Warning, "Refresh runner refused or failed to take key '{Key}' of region '{Region}'; it runs on the in-process runner instead.")]
    public static partial void RunnerFallback(ILogger logger, Exception? exception, string region, string key);

    [LoggerMessage(8, LogLevel.Information, "Write of key '{Key}' in region '{Region}' was rejected: a newer lock owner exists (fenced).")]
    public static partial void WriteSuperseded(ILogger logger, string region, string key);

    [LoggerMessage(9, LogLevel.Warning, "Releasing the lock on key '{Key}' in region '{Region}' failed; its lease will end it.")]
    public static partial void LockReleaseFailed(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(10, LogLevel.Information, "Region '{Region}' was {Mode}-invalidated.")]
    public static partial void Invalidated(ILogger logger, string region, InvalidationMode mode);

    [LoggerMessage(11, LogLevel.Warning, "Creator for key '{Key}' in region '{Region}' failed; serving the expired value (stale-if-error).")]
    public static partial void ServingStaleAfterError(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(12, LogLevel.Warning, "Refresh of key '{Key}' in region '{Region}' not started: its lock or its re-read failed; the stale value stays in service and the key backs off for {Backoff}.")]
    public static partial void RefreshNotStarted(ILogger logger, Exception exception, string region, string key, TimeSpan backoff);

    [LoggerMessage(13, LogLevel.Warning, "Key '{Key}' in region '{Region}' has a value the backend cannot store ({Size} bytes, limit {Limit}); it is returned to its callers and held in this process, and the key backs off for {Backoff}.")]
    public static partial void ValueNotStorable(ILogger logger, string region, string key, long size, long limit, TimeSpan backoff);

    [LoggerMessage(14, LogLevel.Warning, "Key '{Key}' in region '{Region}' was stamped {Ahead} in the future by its writer (a fast clock); it is treated as expired so one refresh replaces it.")]
    public static partial void CreatedInTheFuture(ILogger logger, string region, string key, TimeSpan ahead);

    [LoggerMessage(15, LogLevel.Warning, "Reading key '{Key}' in region '{Region}' failed: the backend is unavailable; the key is served without it (degraded).")]
    public static partial void BackendReadFailed(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(16, LogLevel.Warning, "The {Operation} of key '{Key}' in region '{Region}' failed: the backend is unavailable; it is dropped, not retried.")]
    public static partial void BackendWriteDropped(ILogger logger, Exception exception, string region, string key, string operation);

    [LoggerMessage(17, LogLevel.Warning, "The distributed lock of key '{Key}' in region '{Region}' is unavailable; the in-process lock alone guards its creation (one creator per key in this process).")]
    public static partial void LockUnavailable(ILogger logger, Exception exception, string region, string key);

    [LoggerMessage(18, LogLevel.Warning, "Publishing or reading invalidations of region '{Region}' failed: the store is unavailable; the marks stay in force in this process.")]
    public static partial void InvalidationUnavailable(ILogger logger, Exception exception, string region);

    [LoggerMessage(19, LogLevel.Debug, "The backend of region '{Region}' was skipped for key '{Key}' ({Operation}): its circuit breaker is open.")]
    public static partial void BackendSkipped(ILogger logger, string region, string key, string operation);

    // Debug: during an outage every read of a held key comes here; the failure itself is logged by the backend.
    [LoggerMessage(30, LogLevel.Debug, "Key '{Key}' in region '{Region}' was served from the near cache: the backend read failed.")]
    public static partial void ServedFromNearCache(ILogger logger, Exception exception, string region, string key);
}
