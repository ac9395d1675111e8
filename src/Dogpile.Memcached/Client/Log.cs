using Microsoft.Extensions.Logging;

namespace Dogpile.Memcached.Client;

/// <summary>Source-generated log messages; event ids are stable so operators can filter on them.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "memcached server {Server} marked dead for {RetryDelay}; calls for its keys fail fast until then")]
    public static partial void ServerMarkedDead(ILogger logger, string server, TimeSpan retryDelay, Exception exception);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "memcached server {Server} is reachable again")]
    public static partial void ServerRevived(ILogger logger, string server);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "memcached connection to {Server} discarded")]
    public static partial void ConnectionDiscarded(ILogger logger, string server, Exception exception);
}
