namespace Dogpile;

/// <summary>How a region-wide invalidation treats older values.</summary>
public enum InvalidationMode
{
    /// <summary>Every older value counts as missing: callers wait for a new one.</summary>
    Hard,

    /// <summary>Every older value counts as stale: it is served while one refresh runs.</summary>
    Soft,
}
