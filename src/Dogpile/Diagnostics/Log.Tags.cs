using Microsoft.Extensions.Logging;

namespace Dogpile.Internal;

// Kept apart from Log.cs so the ids of tags and the HybridCache adapter stay in their own range (30-39).
internal static partial class Log
{
    [LoggerMessage(30, LogLevel.Information, "Tag '{Tag}' of region '{Region}' was {Mode}-invalidated.")]
    public static partial void TagInvalidated(ILogger logger, string region, string tag, InvalidationMode mode);
}
