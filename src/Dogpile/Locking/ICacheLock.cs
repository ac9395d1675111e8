namespace Dogpile;

/// <summary>A held creation lock: an owner token, a lease, and a fencing token.</summary>
public interface ICacheLock : IAsyncDisposable
{
    /// <summary>The backend key the lock guards.</summary>
    string Key { get; }

    /// <summary>The random token that identifies this owner; release and extend compare it.</summary>
    string OwnerToken { get; }

    /// <summary>
    /// A number that grows with every acquisition of this key's lock. A write carrying an older fence than the
    /// newest is rejected by <see cref="IFencedCacheBackend"/>. Zero where the provider has no fencing.
    /// </summary>
    long FencingToken { get; }

    /// <summary>Extends the lease, if this owner still holds the lock.</summary>
    /// <param name="lease">The new lease from now.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lock was lost (expired and taken, or released).</returns>
    ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Releases the lock if this owner still holds it (compare-and-delete). Safe to call more than once:
    /// only the first call has an effect.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the lock is released.</returns>
    ValueTask ReleaseAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The key's stored entry as the provider read it in the same atomic step that took the lock (the re-read dogpile
    /// makes after acquiring, without its own round trip). A provider that did not read it returns
    /// <see langword="false"/>, and the holder reads the backend.
    /// </summary>
    /// <param name="entry">The entry, or <see langword="null"/> when none was stored.</param>
    /// <returns>Whether the provider read the entry with the lock.</returns>
    bool TryGetEntryReadWithLock(out CacheEntry? entry)
    {
        entry = null;
        return false;
    }
}
