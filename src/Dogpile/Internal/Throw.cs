using System.Diagnostics.CodeAnalysis;

namespace Dogpile.Internal;

/// <summary>Throw helpers, kept out of line so the callers on the hot path stay small enough to inline.</summary>
internal static class Throw
{
    [DoesNotReturn]
    public static void KeyNullOrEmpty(string? key)
        => throw (key is null
            ? new ArgumentNullException(nameof(key), "A cache key must not be null.")
            : new ArgumentException("A cache key must not be empty.", nameof(key)));

    [DoesNotReturn]
    public static void KeyTooLong(string key, int byteCount, int limit)
        => throw new ArgumentException(
            $"The cache key '{Truncate(key)}' is {byteCount} UTF-8 bytes after prefixing, over the backend's limit of {limit}. Configure CacheRegionOptions.KeyMangler (for example KeyManglers.Sha256) to hash long keys.",
            nameof(key));

    [DoesNotReturn]
    public static void ObjectDisposed(string regionName)
        => throw new ObjectDisposedException($"CacheRegion '{regionName}'");

    [DoesNotReturn]
    public static void InvalidExpiration(TimeSpan expiration)
        => throw new ArgumentOutOfRangeException(
            nameof(expiration),
            expiration,
            "A per-call expiration must be positive, or CacheRegionOptions.NeverExpires for a value that never expires.");

    public static string Truncate(string key) => key.Length <= 64 ? key : string.Concat(key.AsSpan(0, 61), "...");
}
