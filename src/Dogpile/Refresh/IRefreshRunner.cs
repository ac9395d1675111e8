namespace Dogpile;

/// <summary>
/// Runs refreshes in the background: dogpile's <c>async_creation_runner</c>. The region hands over a
/// <see cref="RefreshRequest"/> whose creation lock is already held; once the runner accepts it, the runner
/// owns that lock and must see it released exactly once, whether the refresh succeeds, fails or is dropped.
/// </summary>
/// <remarks>
/// The in-process runner (the default) is bounded by concurrency and backlog. A durable queue (Dogpile.Redis)
/// implements this interface to move the job to a worker process instead.
/// </remarks>
public interface IRefreshRunner
{
    /// <summary>Offers a refresh.</summary>
    /// <param name="request">The refresh, with its lock held.</param>
    /// <param name="cancellationToken">Cancels the hand-off (not the refresh once accepted).</param>
    /// <returns>
    /// <see langword="true"/> when the runner took the request and with it the lock;
    /// <see langword="false"/> when it is full, and the caller keeps ownership (and releases the lock).
    /// </returns>
    ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken);
}

/// <summary>Why a refresh was started.</summary>
public enum RefreshReason
{
    /// <summary>The value expired and a caller was elected to regenerate it.</summary>
    Expired,

    /// <summary>The region was soft-invalidated after the value was created.</summary>
    SoftInvalidated,

    /// <summary>The value is still fresh but near its expiry (early refresh or probabilistic early expiration).</summary>
    EarlyRefresh,
}

/// <summary>How a refresh ended.</summary>
public enum RefreshOutcome
{
    /// <summary>A new value was created and stored.</summary>
    Refreshed,

    /// <summary>A new value was created; the should-cache predicate declined to store it.</summary>
    NotCached,

    /// <summary>The key was already fresh; nothing was created.</summary>
    SkippedFresh,

    /// <summary>The creator failed; the stale value stays in service and the key backs off.</summary>
    Failed,

    /// <summary>The lock was lost to a newer owner (fence rejected the write); the newer value stands.</summary>
    Superseded,

    /// <summary>The refresh was cancelled before it finished.</summary>
    Cancelled,
}
