namespace Dogpile;

/// <summary>What a region does when its shared backend, lock or invalidation store is unavailable.</summary>
public enum CacheBackendFailurePolicy
{
    /// <summary>
    /// Serve around it: a failed read is a miss (the creator runs in this process under the in-process single flight, so
    /// at most one creator per key per process during an outage), a failed or unreachable distributed lock falls back to
    /// the in-process lock, a failed write or invalidation publish is dropped, logged and counted, and the value created
    /// meanwhile is held in this process for its lifetime. Results served so are marked
    /// (<see cref="CacheItem{T}.Degraded"/>, <see cref="CacheResult{T}.Degraded"/>).
    /// </summary>
    Degrade,

    /// <summary>Fail fast: the <see cref="CacheBackendUnavailableException"/> reaches the caller.</summary>
    Throw,
}
