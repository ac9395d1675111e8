namespace Dogpile;

/// <summary>How a value was served.</summary>
public enum CacheItemSource
{
    /// <summary>A fresh value from the cache.</summary>
    Hit,

    /// <summary>An expired or soft-invalidated value, served while one refresh runs (or because the creator failed).</summary>
    Stale,

    /// <summary>No usable value existed: this call waited for a creator (its own or a concurrent caller's).</summary>
    Miss,
}
