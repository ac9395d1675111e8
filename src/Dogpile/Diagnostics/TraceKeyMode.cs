namespace Dogpile;

/// <summary>How a cache key appears on Dogpile's trace spans (<see cref="CacheRegionOptions.TraceKeys"/>).</summary>
public enum TraceKeyMode
{
    /// <summary>
    /// As <c>dogpile.key.hash</c>: the first 16 hex digits of the SHA-256 of the key's UTF-8 bytes. Spans of one key
    /// can be found and grouped (hash the key you look for the same way) without the key, which may hold personal data,
    /// leaving the process.
    /// </summary>
    Hashed,

    /// <summary>Not at all.</summary>
    Omitted,
}
