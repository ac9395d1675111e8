namespace Dogpile;

/// <summary>
/// Takes the per-key creation lock that spans processes (Redis, memcached). A region always coordinates
/// callers inside its own process first, so a provider only sees one acquirer per key per process.
/// </summary>
/// <remarks>
/// Every lock has an owner token and a lease: a crashed holder can never keep a key locked for longer than
/// the lease, and only the owner can release or extend it.
/// </remarks>
public interface ICacheLockProvider
{
    /// <summary>Tries once to take the lock, without waiting (used to elect the one regenerator of a stale value).</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The held lock, or <see langword="null"/> when another owner holds it.</returns>
    ValueTask<ICacheLock?> TryAcquireAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Waits for the lock (used when there is no value to serve), unless another owner produces the value first.
    /// </summary>
    /// <remarks>
    /// Each time the waiter wakes (the lock was released, or a poll is due) it checks whether the value now exists
    /// before it would hold the lock: it calls <paramref name="valueProduced"/> before trying the lock again, or, when
    /// its lock attempt reads the value in the same step, with the entry that attempt found. Reading the value is what
    /// a waiter wants; were it to take the lock first, the waiting processes would each hold it in turn just to find
    /// the value there, and the last of them would be served several round trips late. A provider whose release
    /// notice can carry the entry the holder wrote passes it, so the waiter need not read it back.
    /// </remarks>
    /// <param name="key">The backend key.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="valueProduced">
    /// Checks whether the value now exists, so the lock is no longer needed; <see langword="null"/> to wait for the lock
    /// whatever happens. Its first argument is the entry the releasing holder wrote when the wake-up carried it, or
    /// <see langword="null"/>: then it reads the backend.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The held lock, or <see langword="null"/> once <paramref name="valueProduced"/> returned <see langword="true"/>.</returns>
    /// <exception cref="CacheLockTimeoutException">The lock was not free within <paramref name="timeout"/>.</exception>
    ValueTask<ICacheLock?> AcquireAsync(
        string key,
        TimeSpan timeout,
        Func<CacheEntry?, CancellationToken, ValueTask<bool>>? valueProduced,
        CancellationToken cancellationToken);

    /// <summary>
    /// Whether the entries this provider hands over (read with a lock, or carried by a release notice) are read from
    /// <paramref name="backend"/>'s storage. A region uses them in place of its own reads only then; a provider that
    /// hands over none, or a lock on other storage than the values, answers <see langword="false"/>.
    /// </summary>
    /// <param name="backend">The region's backend.</param>
    /// <returns>Whether the provider's entries are <paramref name="backend"/>'s.</returns>
    bool ReadsFrom(ICacheBackend backend) => false;

    /// <summary>
    /// Whether any owner holds the key's lock right now (dogpile's <c>key_is_locked</c>), for diagnostics: the answer
    /// may be out of date as soon as it arrives, so never decide whether to create on it.
    /// </summary>
    /// <param name="key">The backend key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the lock is held; a provider that cannot tell answers <see langword="false"/>.</returns>
    ValueTask<bool> IsHeldAsync(string key, CancellationToken cancellationToken) => new(false);
}
