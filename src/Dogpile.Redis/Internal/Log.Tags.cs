using Microsoft.Extensions.Logging;

namespace Dogpile.Redis.Internal;

// Tag invalidation's messages, in their own id range (150-159).
internal static partial class Log
{
    [LoggerMessage(150, LogLevel.Warning, "Loading the tag invalidation marks of region '{Region}' failed.")]
    public static partial void TagMarksLoadFailed(ILogger logger, Exception exception, string region);

    [LoggerMessage(151, LogLevel.Warning, "A tag invalidation announcement could not be read; the tag marks of every subscribed region are loaded again.")]
    public static partial void TagAnnouncementUnreadable(ILogger logger);
}
