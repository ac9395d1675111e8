using System.Runtime.ExceptionServices;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// Serving around an unavailable backend (CacheBackendFailurePolicy.Degrade): a failed read is a miss, a failed lock is
// the in-process lock alone, a failed write is dropped and the created value held here. Every such decision is made in
// the few methods below, so what "degraded" means is written once.
public sealed partial class CacheRegion
{
    /// <summary>The most values created during an outage that one region holds at once.</summary>
    internal const int OutageHoldCapacity = 4096;

    // Whether the policy is Degrade (the region's setting, else the backend's, else Degrade).
    private readonly bool _degrade;

    // Values created while the backend could not store them: without them, every call of a key during an outage would
    // run its creator again. Looked at only when a backend read fails: once the backend answers, what it says wins (a key
    // it lacks is created once more, under the distributed lock, so every process converges on one value).
    private readonly UnstoredValues _heldDuringOutage = new(OutageHoldCapacity);

    /// <summary>Whether this failure is one the region serves around (the policy is Degrade and the store is unavailable).</summary>
    private bool Degrades(Exception ex) => _degrade && ex is CacheBackendUnavailableException;

    /// <summary>
    /// A backend read of the key failed. Under <see cref="CacheBackendFailurePolicy.Degrade"/> it is counted, logged, and
    /// answered with what this process has for the key: a value created here during the outage, or nothing (a miss, so the
    /// creator runs here under the in-process single flight). Under <see cref="CacheBackendFailurePolicy.Throw"/>, or for
    /// any other failure, the exception is rethrown. The one place that decides what a failed read serves.
    /// </summary>
    /// <returns>The entry to classify in place of the backend's; <see langword="null"/> for a miss.</returns>
    private CacheEntry? OnBackendReadFailed(string key, Exception ex)
    {
        if (ServesAround(BackendOperation.Read, key, ex))
        {
            Log.BackendReadFailed(_logger, ex, Name, key);
        }

        return HeldDuringOutage(key);
    }

    /// <summary>
    /// What every unavailable-backend failure does first: rethrown unless the policy is Degrade, else counted, and logged
    /// at debug level when the breaker skipped the call (nothing new happened). True asks the caller to log the failure.
    /// </summary>
    private bool ServesAround(BackendOperation operation, string key, Exception ex)
    {
        if (!Degrades(ex))
        {
            ExceptionDispatchInfo.Throw(ex);
        }

        _counters.BackendFailed(operation);
        if (IsBreakerOpen(ex))
        {
            Log.BackendSkipped(_logger, Name, key, OperationName(operation));
            return false;
        }

        return true;
    }

    private static string OperationName(BackendOperation operation) => operation switch
    {
        BackendOperation.Read => "read",
        BackendOperation.Remove => "removal",
        BackendOperation.Lock => "lock",
        _ => "write",
    };

    /// <summary>A write or removal failed: under Degrade it is dropped (never retried), logged and counted; otherwise rethrown.</summary>
    private void OnBackendWriteFailed(BackendOperation operation, string key, Exception ex)
    {
        if (ServesAround(operation, key, ex))
        {
            Log.BackendWriteDropped(_logger, ex, Name, key, OperationName(operation));
        }
    }

    /// <summary>The distributed lock failed: under Degrade the caller goes on under the in-process lock alone; otherwise rethrown.</summary>
    private void OnLockUnavailable(string key, Exception ex)
    {
        if (ServesAround(BackendOperation.Lock, key, ex))
        {
            Log.LockUnavailable(_logger, ex, Name, key);
        }
    }

    /// <summary>
    /// A created value whose write failed under Degrade: held in this process for its lifetime, so the key's next callers
    /// get it (while reads fail) instead of running the creator again; dropped as soon as the backend stores or removes the key.
    /// </summary>
    private void HoldCreatedDuringOutage(string key, CacheEntry entry)
    {
        entry.CreatedDuringOutage = true;
        _heldDuringOutage.Hold(key, entry, entry.Lifetime.DropAt(entry.CreatedUtcTicks, _staleWindowTicks), _clock.PreciseUtcTicks);
    }

    private CacheEntry? HeldDuringOutage(string key) => _heldDuringOutage.IsEmpty ? null : _heldDuringOutage.Get(key, _clock.PreciseUtcTicks);

    /// <summary>The key's value is what the backend says again (stored, set or removed).</summary>
    private void ForgetLocal(string key)
    {
        _unstored.Forget(key);
        _heldDuringOutage.Forget(key);
    }

    /// <summary>Counts a result served degraded and returns it marked.</summary>
    private CacheItem<T> ServedDegraded<T>(CacheItem<T> item)
    {
        _counters.DegradedServed();
        return item.Degraded ? item : item.AsDegraded();
    }

    internal long BackendFailureCount(BackendOperation operation) => _counters.BackendFailures(operation);

    private static bool IsBreakerOpen(Exception ex) => ex is CacheBackendUnavailableException { Failure: CacheBackendFailure.BreakerOpen };

    /// <summary>A read whose failure is handled by <see cref="OnBackendReadFailed"/>: never throws an unavailable backend under Degrade.</summary>
    private async ValueTask<(CacheEntry? Entry, bool Failed)> ReadOrDegradeAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return (await ReadAsync(key, backendKey, cancellationToken).ConfigureAwait(false), false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            return (OnBackendReadFailed(key, ex), true);
        }
    }

    /// <summary>Publishes an invalidation; under Degrade a store that is unavailable leaves the marks in force here only.</summary>
    private async ValueTask PublishInvalidationAsync(RegionInvalidation marks, CancellationToken cancellationToken)
    {
        try
        {
            await _invalidationStore!.PublishAsync(Name, marks, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            _counters.BackendFailed(BackendOperation.Invalidation);
            Log.InvalidationUnavailable(_logger, ex, Name);
        }
    }
}
