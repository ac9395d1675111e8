using System.Runtime.ExceptionServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Values a region holds in process because its backend did not store them, and the decisions that lead there: a value
/// too large to store, and (under <see cref="CacheBackendFailurePolicy.Degrade"/>) a value whose write failed while the
/// backend was unavailable. A failed read, write, lock or publication is answered here, so what "degraded" means is
/// written once.
/// </summary>
/// <remarks>
/// The two stores differ in when they are read. A value too large to store is judged like a backend entry on every read
/// (the backend will never hold it). A value held during an outage is looked at only when a backend read fails: once the
/// backend answers, what it says wins (a key it lacks is created once more, under the distributed lock, so every process
/// converges on one value). Both are dropped as soon as the backend stores, sets or removes the key.
/// </remarks>
internal sealed class HeldValues(RegionContext context)
{
    /// <summary>The most values created during an outage that one region holds at once.</summary>
    public const int OutageHoldCapacity = 4096;

    private readonly UnstoredValues _unstorable = new();
    private readonly UnstoredValues _heldDuringOutage = new(OutageHoldCapacity);

    /// <summary>Whether no value too large to store is held (the in-line miss needs no look here then).</summary>
    public bool HoldsNoUnstorable => _unstorable.IsEmpty;

    /// <summary>The value the backend refused as too large, while within its lifetime; <see langword="null"/> when none.</summary>
    public CacheEntry? Unstorable(string key, long now) => _unstorable.IsEmpty ? null : _unstorable.Get(key, now);

    /// <summary>The value created here while the backend was unavailable, if any.</summary>
    public CacheEntry? DuringOutage(string key)
        => _heldDuringOutage.IsEmpty ? null : _heldDuringOutage.Get(key, context.Clock.PreciseUtcTicks);

    /// <summary>The key's value is what the backend says again (stored, set or removed).</summary>
    public void Forget(string key)
    {
        _unstorable.Forget(key);
        _heldDuringOutage.Forget(key);
    }

    /// <summary>
    /// The backend refused a created value as too large: its callers still get it (it was created), it is held in this
    /// process for its lifetime so nobody creates it again, and it is logged once per back-off period.
    /// </summary>
    public void HoldUnstorable(string key, string backendKey, CacheEntry entry, CacheValueTooLargeException ex)
    {
        context.Counters.NotStored();
        long now = context.Clock.PreciseUtcTicks;
        _unstorable.Hold(key, entry, entry.Lifetime.DropAt(entry.CreatedUtcTicks, context.StaleWindowTicks), now);
        bool alreadyBackingOff = context.Failures.IsBackingOff(backendKey, now);
        TimeSpan backoff = context.Failures.Failed(backendKey, now);
        if (!alreadyBackingOff)
        {
            Log.ValueNotStorable(context.Logger, context.Name, key, ex.Size, ex.Limit, backoff);
        }
    }

    /// <summary>
    /// A created value whose write failed under Degrade: held in this process for its lifetime, so the key's next callers
    /// get it (while reads fail) instead of running the creator again; dropped as soon as the backend stores or removes the key.
    /// </summary>
    public void HoldCreatedDuringOutage(string key, CacheEntry entry)
    {
        entry.CreatedDuringOutage = true;
        _heldDuringOutage.Hold(key, entry, entry.Lifetime.DropAt(entry.CreatedUtcTicks, context.StaleWindowTicks), context.Clock.PreciseUtcTicks);
    }

    /// <summary>Whether this failure is one the region serves around (the policy is Degrade and the store is unavailable).</summary>
    public bool Degrades(Exception ex) => context.Degrade && ex is CacheBackendUnavailableException;

    /// <summary>
    /// A backend read of the key failed. Under <see cref="CacheBackendFailurePolicy.Degrade"/> it is counted, logged, and
    /// answered with what this process has for the key: a value created here during the outage, or nothing (a miss, so the
    /// creator runs here under the in-process single flight). Under <see cref="CacheBackendFailurePolicy.Throw"/>, or for
    /// any other failure, the exception is rethrown. The one place that decides what a failed read serves.
    /// </summary>
    /// <returns>The entry to classify in place of the backend's; <see langword="null"/> for a miss.</returns>
    public CacheEntry? OnBackendReadFailed(string key, Exception ex)
    {
        if (ServesAround(BackendOperation.Read, key, ex))
        {
            Log.BackendReadFailed(context.Logger, ex, context.Name, key);
        }

        return DuringOutage(key);
    }

    /// <summary>A write or removal failed: under Degrade it is dropped (never retried), logged and counted; otherwise rethrown.</summary>
    public void OnBackendWriteFailed(BackendOperation operation, string key, Exception ex)
    {
        if (ServesAround(operation, key, ex))
        {
            Log.BackendWriteDropped(context.Logger, ex, context.Name, key, OperationName(operation));
        }
    }

    /// <summary>The distributed lock failed: under Degrade the caller goes on under the in-process lock alone; otherwise rethrown.</summary>
    public void OnLockUnavailable(string key, Exception ex)
    {
        if (ServesAround(BackendOperation.Lock, key, ex))
        {
            Log.LockUnavailable(context.Logger, ex, context.Name, key);
        }
    }

    /// <summary>Counts a result served degraded and returns it marked.</summary>
    public CacheItem<T> ServedDegraded<T>(CacheItem<T> item)
    {
        context.Counters.DegradedServed();
        return item.Degraded ? item : item.AsDegraded();
    }

    /// <summary>Publishes an invalidation; under Degrade a store that is unavailable leaves the marks in force here only.</summary>
    public async ValueTask PublishInvalidationAsync(IInvalidationStore store, RegionInvalidation marks, CancellationToken cancellationToken)
    {
        try
        {
            await store.PublishAsync(context.Name, marks, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (context.Degrade)
        {
            context.Counters.BackendFailed(BackendOperation.Invalidation);
            Log.InvalidationUnavailable(context.Logger, ex, context.Name);
        }
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

        context.Counters.BackendFailed(operation);
        if (ex is CacheBackendUnavailableException { Failure: CacheBackendFailure.BreakerOpen })
        {
            Log.BackendSkipped(context.Logger, context.Name, key, OperationName(operation));
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
}
