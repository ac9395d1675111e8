namespace Dogpile;

/// <summary>One write of a multi-key set.</summary>
/// <param name="Key">The backend key.</param>
/// <param name="Entry">The entry.</param>
/// <param name="TimeToLive">How long the backend keeps it; <see langword="null"/> keeps it until evicted.</param>
public readonly record struct CacheWrite(string Key, CacheEntry Entry, TimeSpan? TimeToLive);
