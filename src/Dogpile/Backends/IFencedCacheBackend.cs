namespace Dogpile;

/// <summary>
/// A backend that can write a value only while a distributed lock's fence is current, and release that lock,
/// in one atomic step. A creator whose lease expired (and whose lock another process took since) can then
/// never overwrite the newer value.
/// </summary>
public interface IFencedCacheBackend : ICacheBackend
{
    /// <summary>Writes the entry if <paramref name="heldLock"/> is still the newest lock on the key, then releases it.</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="entry">The entry.</param>
    /// <param name="timeToLive">How long the backend keeps it.</param>
    /// <param name="heldLock">The lock taken for this key by the creator.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="false"/> when the fence was stale and nothing was written.</returns>
    ValueTask<bool> SetAndReleaseAsync(string key, CacheEntry entry, TimeSpan? timeToLive, ICacheLock heldLock, CancellationToken cancellationToken);
}
