namespace Dogpile;

/// <summary>A snapshot of a region's counters since it was built.</summary>
public readonly record struct CacheRegionStatistics
{
    /// <summary>Fresh values returned.</summary>
    public long Hits { get; init; }

    /// <summary>Calls that found no usable value and waited for a creator.</summary>
    public long Misses { get; init; }

    /// <summary>Stale values returned (while a refresh runs, or after a failure).</summary>
    public long StaleServed { get; init; }

    /// <summary>Creator calls that produced a value (in line or in a refresh).</summary>
    public long Creations { get; init; }

    /// <summary>Creator calls that threw.</summary>
    public long CreationFailures { get; init; }

    /// <summary>Calls that had to wait for another caller's creation or a lock.</summary>
    public long LockWaits { get; init; }

    /// <summary>Calls that gave up waiting after <see cref="CacheRegionOptions.LockTimeout"/>.</summary>
    public long LockTimeouts { get; init; }

    /// <summary>Refreshes handed to a runner (background, early, or durable queue).</summary>
    public long RefreshesStarted { get; init; }

    /// <summary>Refreshes skipped because the runner was full.</summary>
    public long RefreshesSkipped { get; init; }

    /// <summary>Refreshes whose creator failed.</summary>
    public long RefreshesFailed { get; init; }

    /// <summary>Refreshes that were queued to a durable runner but fell back to the in-process one.</summary>
    public long RefreshFallbacks { get; init; }

    /// <summary>Stored values that could not be read (corrupt or of another type) and counted as misses.</summary>
    public long UnreadableEntries { get; init; }

    /// <summary>
    /// Created values the backend refused to store (larger than its item or size limit). Each was returned to its
    /// callers and held in this process for its lifetime instead, so the creator is not called again for it.
    /// </summary>
    public long ValuesNotStored { get; init; }

    /// <summary>
    /// Results served while the shared backend or its lock was unavailable (<see cref="CacheBackendFailurePolicy.Degrade"/>):
    /// created in this process under its own lock, or held here since such a creation.
    /// </summary>
    public long DegradedServed { get; init; }

    /// <summary>Backend reads that failed (unavailable) and were answered without the backend.</summary>
    public long BackendReadFailures { get; init; }

    /// <summary>Backend writes and removals that failed (unavailable) and were dropped, never retried.</summary>
    public long BackendWriteFailures { get; init; }

    /// <summary>Distributed lock calls that failed (unavailable); the in-process lock was used alone.</summary>
    public long BackendLockFailures { get; init; }

    /// <summary>Invalidation publications that failed (unavailable); the marks stayed in force in this process.</summary>
    public long BackendInvalidationFailures { get; init; }

    /// <summary>Refreshes running now on the in-process runner.</summary>
    public long RefreshesRunning { get; init; }

    /// <summary>Refreshes waiting in the in-process runner's backlog now.</summary>
    public long RefreshesQueued { get; init; }

    /// <summary>How far the near cache is trusted now: off, coherent through the backend's change feed, or time-bounded.</summary>
    public NearCacheState NearCache { get; init; }

    /// <summary>Entries the near cache holds now (trusted or not: an untrusted one is still served while the backend fails).</summary>
    public long NearCacheEntries { get; init; }
}
