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
