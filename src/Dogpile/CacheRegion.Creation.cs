using System.Diagnostics;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// The missing-value path: one creation per key in flight, shared by every waiter; the holder of the key's
// lock re-reads before creating, exactly as dogpile's Lock does after a blocking acquire.
public sealed partial class CacheRegion
{
    private async ValueTask<CacheItem<T>> WaitForCreationAsync<TState, T>(Call<TState, T> call, Lookup<T> fallback, CancellationToken cancellationToken)
    {
        Flight flight = JoinOrStartFlight(call, out bool joined);
        _counters.Miss();
        LockWait? wait = null;
        if (joined)
        {
            _counters.LockWaited();
            wait = LockWait.Start(Name, LockWait.InProcess, _time);
        }

        try
        {
            await flight.Task.WaitAsync(_lockTimeout, _time, cancellationToken).ConfigureAwait(false);
            wait?.Stop("value_produced");
            return ResultToItem(call, flight.Result);
        }
        catch (TimeoutException ex) when (ex is not CacheLockTimeoutException && !cancellationToken.IsCancellationRequested && !fallback.HasValue)
        {
            wait?.Stop("timeout");
            _counters.LockTimedOut();
            throw new CacheLockTimeoutException(call.Key, _lockTimeout);
        }
        catch (Exception ex) when (fallback.HasValue && !cancellationToken.IsCancellationRequested)
        {
            // Too stale to serve normally, but within the stale window: stale-if-error.
            Log.ServingStaleAfterError(_logger, ex, Name, call.Key);
            _counters.StaleServed();
            return ToItem(fallback, _clock.CoarseUtcTicks, CacheItemSource.Stale);
        }
        finally
        {
            wait?.Stop(cancellationToken.IsCancellationRequested ? "cancelled" : "failed");
            flight.RemoveWaiter();
        }
    }

    private CacheItem<T> ResultToItem<TState, T>(Call<TState, T> call, FlightResult result)
    {
        T value;
        if (result.Value is T typed)
        {
            value = typed;
        }
        else if (result.Value is null && default(T) is null)
        {
            value = default!;
        }
        else
        {
            throw new InvalidCastException(
                $"Key '{call.Key}' is being created as a {result.Value?.GetType().Name ?? "null"} by a concurrent caller, not the {typeof(T).Name} this caller asked for.");
        }

        return new CacheItem<T>(value, result.CreatedUtcTicks, _clock.CoarseUtcTicks, result.Stale, result.Stale ? CacheItemSource.Stale : CacheItemSource.Miss, result.Expiration, result.Degraded);
    }

    private Flight JoinOrStartFlight<TState, T>(Call<TState, T> call, out bool joined)
    {
        while (true)
        {
            if (_flights.TryGetValue(call.BackendKey, out Flight? existing))
            {
                if (existing.TryAddWaiter())
                {
                    joined = true;
                    return existing;
                }

                // Every waiter of that flight left and it is being cancelled: replace it.
                _flights.TryRemove(new KeyValuePair<string, Flight>(call.BackendKey, existing));
                continue;
            }

            var flight = new Flight();
            flight.TryAddWaiter();
            if (_flights.TryAdd(call.BackendKey, flight))
            {
                joined = false;
                _ = RunFlightAsync(call, flight);
                return flight;
            }

        }
    }

    private async Task RunFlightAsync<TState, T>(Call<TState, T> call, Flight flight)
    {
        // Runs in line on the first caller's thread up to its first real await (no thread-pool hop on a quick miss);
        // it never sees that caller's token: the creation belongs to every waiter, not to the first one.
        try
        {
            FlightResult result = await CreateUnderLockAsync(call, reread: true, flight.Cancellation.Token).ConfigureAwait(false);
            _flights.TryRemove(new KeyValuePair<string, Flight>(call.BackendKey, flight));
            flight.Complete(result);
        }
        catch (Exception ex)
        {
            if (!flight.Cancellation.IsCancellationRequested)
            {
                Log.CreatorFailed(_logger, ex, Name, call.Key);
            }

            _flights.TryRemove(new KeyValuePair<string, Flight>(call.BackendKey, flight));
            flight.TrySetException(ex);
        }
    }

    /// <summary>Takes the key's locks (in process, then across processes), re-reads, and creates if still needed.</summary>
    private async ValueTask<FlightResult> CreateUnderLockAsync<TState, T>(Call<TState, T> call, bool reread, CancellationToken cancellationToken)
    {
        KeyedGates.GateLease gate = await _gates.AcquireAsync(call.BackendKey, Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(false);
        ICacheLock? distributedLock = null;
        bool handedOff = false;
        LockRelease? release = null;
        bool lockUnavailable = false;
        try
        {
            if (_lockProvider is not null)
            {
                var waiter = new DistributedWaiter<T>(this, call.Key, call.BackendKey, reread);
                LockWait? wait = LockWait.Start(Name, LockWait.Distributed, _time);
                try
                {
                    distributedLock = await waiter.AcquireAsync(_lockProvider, _lockTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (CacheBackendUnavailableException ex) when (_degrade)
                {
                    // The key's gate is held: one creator per key in this process, none across processes.
                    wait?.Stop("unavailable");
                    OnLockUnavailable(call.Key, ex);
                    lockUnavailable = true;
                }
                catch (Exception ex)
                {
                    wait?.Stop(ex is TimeoutException ? "timeout" : cancellationToken.IsCancellationRequested ? "cancelled" : "failed");
                    throw;
                }

                if (!lockUnavailable)
                {
                    wait?.Stop(distributedLock is null ? "value_produced" : "acquired");
                }

                if (distributedLock is null && !lockUnavailable)
                {
                    Lookup<T> produced = waiter.Produced;
                    return new FlightResult(produced.Value, produced.Entry!.CreatedUtcTicks, produced.Entry.Expiration, stale: false);
                }

                release = distributedLock is null ? null : new LockRelease();
            }

            if (reread)
            {
                // Dogpile's re-read after acquiring: a provider that read the entry in the same step as the lock saves it.
                Lookup<T> lookup = distributedLock is not null && _lockReadsBackend && distributedLock.TryGetEntryReadWithLock(out CacheEntry? readWithLock)
                    ? Classify<T>(call.Key, readWithLock, _clock.CoarseUtcTicks)
                    : await ReadLookupAsync<T>(call.Key, call.BackendKey, cancellationToken).ConfigureAwait(false);
                long now = _clock.CoarseUtcTicks;
                ReadAction action = lookup.IsFresh ? ReadAction.Serve
                    : EntryPolicy.Decide(lookup.State, IsBackingOff(call.BackendKey, now), refreshBusy: false, _backgroundRefresh);
                bool degraded = lockUnavailable || lookup.Entry is { CreatedDuringOutage: true };
                if (action == ReadAction.Serve)
                {
                    // Another caller (or process) created it while we waited for the lock.
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Expiration, stale: false, degraded);
                }

                if (action == ReadAction.ServeStale)
                {
                    // A creation failed moments ago and left a usable value: stale-if-error, not another attempt.
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Expiration, stale: true, degraded);
                }

                if (action == ReadAction.ServeStaleAndRefresh)
                {
                    // Dogpile: a usable value exists, so pass the held lock to the async runner and serve it.
                    handedOff = true;
                    await ScheduleAsync(NewRefreshRequest(call, ReasonFor(lookup.Entry!), gate, distributedLock)).ConfigureAwait(false);
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Expiration, stale: true, degraded);
                }
            }

            (T value, long created, bool notStored) = await CreateAndStoreAsync(call, distributedLock, release, cancellationToken).ConfigureAwait(false);
            return new FlightResult(value, created, call.Expiration, stale: false, lockUnavailable || notStored);
        }
        finally
        {
            if (!handedOff)
            {
                gate.Release();
                if (distributedLock is not null && release?.DistributedReleased != true)
                {
                    await ReleaseQuietlyAsync(distributedLock, call.Key).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Runs the creator, stamps the created time when it finishes, and stores the value (fenced when the backend can).
    /// <c>HeldDuringOutage</c>: the backend was unavailable, so the value is held in this process instead (Degrade).
    /// </summary>
    private async ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> CreateAndStoreAsync<TState, T>(
        Call<TState, T> call,
        ICacheLock? distributedLock,
        LockRelease? release,
        CancellationToken cancellationToken)
    {
        using Activity? activity = DogpileTracing.StartCreation(Name, call.Key, _traceKeys);
        long started = _time.GetTimestamp();
        T value;
        try
        {
            value = await call.Creator(call.State, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            DogpileMetrics.RecordCreation(Name, "failed", _time.GetElapsedTime(started));
            activity?.SetFailed(ex);
            _counters.CreationFailed();
            RecordFailure(call.BackendKey);
            throw;
        }

        TimeSpan duration = _time.GetElapsedTime(started);
        DogpileMetrics.RecordCreation(Name, "created", duration);
        long created = _marks.StampCreated();
        _counters.Created();

        if (call.Options?.ShouldCache is { } shouldCache && !shouldCache(value))
        {
            _failures.Succeeded(call.BackendKey);
            release?.Outcome = RefreshOutcome.NotCached;
            activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.NotCached));
            return (value, created, false);
        }

        CacheEntry entry = MakeEntry(value, created, call.Expiration, duration, call.Options?.TagArray);
        TimeSpan? ttl = TimeToLive(call.Expiration);
        bool superseded = false;
        try
        {
            if (distributedLock is not null && _backend is IFencedCacheBackend fenced)
            {
                release?.DistributedReleased = true;
                if (!await fenced.SetAndReleaseAsync(call.BackendKey, entry, ttl, distributedLock, CancellationToken.None).ConfigureAwait(false))
                {
                    superseded = true;
                    release?.Outcome = RefreshOutcome.Superseded;
                    Log.WriteSuperseded(_logger, Name, call.Key);
                }
            }
            else
            {
                await _backend.SetAsync(call.BackendKey, entry, ttl, CancellationToken.None).ConfigureAwait(false);
            }

            AfterWrite(call.Key, call.BackendKey, superseded ? null : entry);
            ForgetLocal(call.Key);
            _failures.Succeeded(call.BackendKey);
        }
        catch (CacheValueTooLargeException ex)
        {
            // Refused before anything was written, the fenced write's release included.
            release?.DistributedReleased = false;
            release?.Outcome = RefreshOutcome.NotCached;
            HoldUnstorable(call.Key, call.BackendKey, entry, ex);
            AfterWrite(call.Key, call.BackendKey, null);
            activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.NotCached));
            return (value, created, false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            // Dropped, not retried; the value is held here so the key's next callers do not create it again.
            release?.DistributedReleased = false;
            _failures.Succeeded(call.BackendKey);
            OnBackendWriteFailed(BackendOperation.Write, call.Key, ex);
            HoldCreatedDuringOutage(call.Key, entry);

            // In degraded mode the near cache keeps the value at once (the feed's reset distrusts it when the backend returns).
            AfterWrite(call.Key, call.BackendKey, entry);
            return (value, created, true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The value exists; losing the write must not lose it for the callers waiting on it.
            release?.DistributedReleased = false;
            AfterWrite(call.Key, call.BackendKey, null);
            _failures.Succeeded(call.BackendKey);
            Log.BackendWriteFailed(_logger, ex, Name, call.Key);
        }

        activity?.SetOutcome(DogpileTracing.OutcomeName(release?.Outcome ?? RefreshOutcome.Refreshed));
        return (value, created, false);
    }

    private async ValueTask ReleaseQuietlyAsync(ICacheLock distributedLock, string key)
    {
        try
        {
            await distributedLock.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed release must not mask the value or error; the lease ends the lock anyway.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LockReleaseFailed(_logger, ex, Name, key);
        }
    }

    /// <summary>
    /// Waits for the cross-process lock, but re-reads the key each time the waiter wakes: once another process has
    /// written a fresh value, every waiting process reads it at once instead of taking the lock in turn to find it.
    /// </summary>
    private sealed class DistributedWaiter<T>(CacheRegion region, string key, string backendKey, bool reread)
    {
        public Lookup<T> Produced { get; private set; }

        public ValueTask<ICacheLock?> AcquireAsync(ICacheLockProvider provider, TimeSpan timeout, CancellationToken cancellationToken)
            => provider.AcquireAsync(backendKey, timeout, reread ? ValueProducedAsync : null, cancellationToken);

        private async ValueTask<bool> ValueProducedAsync(CacheEntry? written, CancellationToken cancellationToken)
        {
            // The entry the releasing process wrote, when its release notice carried it: as good as reading it back.
            Lookup<T> lookup = written is not null && region._lockReadsBackend
                ? region.Classify<T>(key, written, region._clock.CoarseUtcTicks)
                : await region.ReadLookupAsync<T>(key, backendKey, cancellationToken).ConfigureAwait(false);
            if (lookup.IsFresh)
            {
                Produced = lookup;
            }

            return lookup.IsFresh;
        }
    }

    /// <summary>
    /// What happened to the distributed lock during a write, so it is released exactly once, and how a refresh ended.
    /// Absent (null) where neither is asked: a plain in-process miss allocates nothing for it.
    /// </summary>
    private sealed class LockRelease
    {
        public bool DistributedReleased { get; set; }

        public RefreshOutcome Outcome { get; set; } = RefreshOutcome.Refreshed;
    }
}
