using System.Diagnostics;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// The missing-value path: one creation per key in flight, shared by every waiter; the holder of the key's
// lock re-reads before creating, exactly as dogpile's Lock does after a blocking acquire.
public sealed partial class CacheRegion
{
    private ValueTask<CacheItem<T>> WaitForCreationAsync<TState, T>(Call<TState, T> call, Lookup<T> fallback, CancellationToken cancellationToken)
    {
        Flight flight = JoinOrStartFlight(call, out bool joined);
        _counters.Miss();
        return AwaitFlightAsync(call, flight, joined, fallback, cancellationToken);
    }

    /// <summary>Waits for a flight this caller holds a waiter's place in (it leaves that place on the way out).</summary>
    private async ValueTask<CacheItem<T>> AwaitFlightAsync<TState, T>(Call<TState, T> call, Flight flight, bool joined, Lookup<T> fallback, CancellationToken cancellationToken)
    {
        LockWait? wait = null;
        if (joined)
        {
            _counters.LockWaited();
            wait = LockWait.Start(Name, LockWait.InProcess, _time);
        }

        try
        {
            await flight.WhenDone().WaitAsync(_lockTimeout, _time, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// A miss on the embedded memory backend with no value at all and nobody else on the key: the same flight, gate and
    /// re-read as any creation, run in line with no async state machine of its own, so a quick miss costs what the
    /// peers' does. Anything else on the way (another caller's flight, a busy gate, a value that appeared, a creator
    /// that goes asynchronous) hands over to the general path at that point.
    /// </summary>
    private ValueTask<T> CreateInLine<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        IRegisteredFunction? function,
        CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        EntryLifetime lifetime = ResolveLifetime(options);
        var flight = new Flight();
        flight.TryAddWaiter();
        if (!_flights.TryAdd(backendKey, flight))
        {
            return UnwrapAsync(WaitForCreationAsync(NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), default, cancellationToken));
        }

        _counters.Miss();
        KeyedGates.GateLease? held = _gates.TryAcquire(backendKey);
        if (held is not { } gate || _memory!.PeekForHit(backendKey) is not null)
        {
            // A refresh or batch creation holds the key, or a value arrived since the first look: the general flight
            // waits for the gate and judges what it re-reads.
            held?.Release();
            Call<TState, T> call = NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
            _ = RunFlightAsync(call, flight);
            return UnwrapAsync(AwaitFlightAsync(call, flight, joined: false, default, cancellationToken));
        }

        if (!DogpileTracing.Source.HasListeners())
        {
            ValueTask<T> creating;
            long started = _time.GetTimestamp();
            try
            {
                creating = creator(state, flight.Token);
            }
            catch (Exception ex)
            {
                creating = ValueTask.FromException<T>(ex);
            }

            if (creating.IsCompletedSuccessfully)
            {
                return StoreInLine(key, backendKey, creating.Result, options, lifetime, started, flight, gate);
            }

            // Went asynchronous, or failed: the general steps take it from here.
            Call<TState, T> pending = NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
            _ = FinishFlightAsync(key, backendKey, flight, ReleaseAfterAsync(ContinueCreationAsync(key, backendKey, creating, options, lifetime, started, flight.Token), gate, lifetime));
            return UnwrapAsync(AwaitFlightAsync(pending, flight, joined: false, default, cancellationToken));
        }

        ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> creation =
            CreateAndStoreAsync(key, backendKey, state, creator, options, lifetime, null, null, flight.Token);

        // Traced: the creation span lives in the async method, so the caller's current activity is untouched after it.
        Call<TState, T> waiting = NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
        _ = FinishFlightAsync(key, backendKey, flight, ReleaseAfterAsync(creation, gate, lifetime));
        return UnwrapAsync(AwaitFlightAsync(waiting, flight, joined: false, default, cancellationToken));
    }

    /// <summary>The in-line miss's creator returned its value at once: stamp, write to the memory backend and end the flight, all without awaiting.</summary>
    private ValueTask<T> StoreInLine<T>(string key, string backendKey, T value, CacheEntryOptions? options, EntryLifetime lifetime, long started, Flight flight, KeyedGates.GateLease gate)
    {
        long created;
        bool held = false;
        try
        {
            if (StampCreated(backendKey, value, options, lifetime, started, null, null, out created) is { } entry)
            {
                ValueTask write = WriteCreatedAsync(backendKey, entry, TimeToLive(lifetime));
                Debug.Assert(write.IsCompleted, "The memory backend writes synchronously.");
                try
                {
                    write.GetAwaiter().GetResult();
                    OnCreatedStored(key, backendKey, entry);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    held = OnCreatedWriteFailed(key, backendKey, entry, ex, null, null);
                }
            }
        }
        catch (Exception ex)
        {
            // A declining predicate or a serializer threw: the creation fails for its callers, as on the general path.
            gate.Release();
            EndFlight(key, backendKey, flight, ex);
            flight.RemoveWaiter();
            return ValueTask.FromException<T>(ex);
        }

        gate.Release();
        _flights.TryRemove(new KeyValuePair<string, Flight>(backendKey, flight));
        flight.Complete(new FlightResult(value, created, lifetime, stale: false, degraded: held));
        flight.RemoveWaiter();
        return new ValueTask<T>(value);
    }

    /// <summary>An in-line creator that went asynchronous (or failed): the rest of the creation's steps, awaited.</summary>
    private async ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> ContinueCreationAsync<T>(
        string key,
        string backendKey,
        ValueTask<T> creating,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        long started,
        CancellationToken cancellationToken)
    {
        T value;
        try
        {
            value = await creating.ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            OnCreatorFailed(backendKey, started, null, ex);
            throw;
        }

        CacheEntry? entry = StampCreated(backendKey, value, options, lifetime, started, null, null, out long created);
        if (entry is null)
        {
            return (value, created, false);
        }

        try
        {
            await WriteCreatedAsync(backendKey, entry, TimeToLive(lifetime)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (value, created, OnCreatedWriteFailed(key, backendKey, entry, ex, null, null));
        }

        OnCreatedStored(key, backendKey, entry);
        return (value, created, false);
    }

    private static async ValueTask<FlightResult> ReleaseAfterAsync<T>(
        ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> creation,
        KeyedGates.GateLease gate,
        EntryLifetime lifetime)
    {
        try
        {
            (T value, long created, bool held) = await creation.ConfigureAwait(false);
            return new FlightResult(value, created, lifetime, stale: false, degraded: held);
        }
        finally
        {
            gate.Release();
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

        return new CacheItem<T>(value, result.CreatedUtcTicks, _clock.CoarseUtcTicks, result.Stale, result.Stale ? CacheItemSource.Stale : CacheItemSource.Miss, result.Lifetime, result.Degraded);
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

    private Task RunFlightAsync<TState, T>(Call<TState, T> call, Flight flight)
        => FinishFlightAsync(call.Key, call.BackendKey, flight, CreateUnderLockAsync(call, reread: true, flight.Token));

    /// <summary>Hands a creation's outcome to its flight's waiters.</summary>
    private async Task FinishFlightAsync(string key, string backendKey, Flight flight, ValueTask<FlightResult> creation)
    {
        // Runs in line on the first caller's thread up to its first real await (no thread-pool hop on a quick miss);
        // it never sees that caller's token: the creation belongs to every waiter, not to the first one.
        try
        {
            FlightResult result = await creation.ConfigureAwait(false);
            _flights.TryRemove(new KeyValuePair<string, Flight>(backendKey, flight));
            flight.Complete(result);
        }
        catch (Exception ex)
        {
            EndFlight(key, backendKey, flight, ex);
        }
    }

    /// <summary>A flight's creation failed: logged (unless every waiter left and cancelled it), and its waiters get the exception.</summary>
    private void EndFlight(string key, string backendKey, Flight flight, Exception failure)
    {
        if (!flight.IsCancellationRequested)
        {
            Log.CreatorFailed(_logger, failure, Name, key);
        }

        _flights.TryRemove(new KeyValuePair<string, Flight>(backendKey, flight));
        flight.Fail(failure);
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
                    return new FlightResult(produced.Value, produced.Entry!.CreatedUtcTicks, produced.Entry.Lifetime, stale: false);
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
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Lifetime, stale: false, degraded);
                }

                if (action == ReadAction.ServeStale)
                {
                    // A creation failed moments ago and left a usable value: stale-if-error, not another attempt.
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Lifetime, stale: true, degraded);
                }

                if (action == ReadAction.ServeStaleAndRefresh)
                {
                    // Dogpile: a usable value exists, so pass the held lock to the async runner and serve it.
                    handedOff = true;
                    await ScheduleAsync(NewRefreshRequest(call, ReasonFor(lookup.Entry!), gate, distributedLock)).ConfigureAwait(false);
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Lifetime, stale: true, degraded);
                }
            }

            (T value, long created, bool notStored) = await CreateAndStoreAsync(call, distributedLock, release, cancellationToken).ConfigureAwait(false);
            return new FlightResult(value, created, call.Lifetime, stale: false, lockUnavailable || notStored);
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

    private ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> CreateAndStoreAsync<TState, T>(
        Call<TState, T> call,
        ICacheLock? distributedLock,
        LockRelease? release,
        CancellationToken cancellationToken)
        => CreateAndStoreAsync(call.Key, call.BackendKey, call.State, call.Creator, call.Options, call.Lifetime, distributedLock, release, cancellationToken);

    /// <summary>
    /// Runs the creator, stamps the created time when it finishes, and stores the value (fenced when the backend can):
    /// the path from creator to stored entry for misses, refreshes and cached functions. Its steps (<see cref="OnCreatorFailed"/>,
    /// <see cref="StampCreated"/>, <see cref="OnCreatedStored"/>, <see cref="OnCreatedWriteFailed"/>) are shared with the
    /// in-line miss (<see cref="CreateInLine"/>), which runs them without awaiting.
    /// <c>HeldDuringOutage</c>: the backend was unavailable, so the value is held in this process instead (Degrade).
    /// </summary>
    private async ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> CreateAndStoreAsync<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        ICacheLock? distributedLock,
        LockRelease? release,
        CancellationToken cancellationToken)
    {
        using Activity? activity = DogpileTracing.StartCreation(Name, key, _traceKeys);
        long started = _time.GetTimestamp();
        T value;
        try
        {
            value = await creator(state, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            OnCreatorFailed(backendKey, started, activity, ex);
            throw;
        }

        CacheEntry? entry = StampCreated(backendKey, value, options, lifetime, started, release, activity, out long created);
        if (entry is null)
        {
            return (value, created, false);
        }

        TimeSpan? ttl = TimeToLive(lifetime);
        bool superseded = false;
        try
        {
            if (distributedLock is not null && _backend is IFencedCacheBackend fenced)
            {
                release?.DistributedReleased = true;
                if (!await fenced.SetAndReleaseAsync(backendKey, entry, ttl, distributedLock, CancellationToken.None).ConfigureAwait(false))
                {
                    superseded = true;
                    release?.Outcome = RefreshOutcome.Superseded;
                    Log.WriteSuperseded(_logger, Name, key);
                }
            }
            else
            {
                await WriteCreatedAsync(backendKey, entry, ttl).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (value, created, OnCreatedWriteFailed(key, backendKey, entry, ex, release, activity));
        }

        OnCreatedStored(key, backendKey, superseded ? null : entry);
        activity?.SetOutcome(DogpileTracing.OutcomeName(release?.Outcome ?? RefreshOutcome.Refreshed));
        return (value, created, false);
    }

    private void OnCreatorFailed(string backendKey, long started, Activity? activity, Exception ex)
    {
        DogpileMetrics.RecordCreation(Name, "failed", _time.GetElapsedTime(started));
        activity?.SetFailed(ex);
        _counters.CreationFailed();
        RecordFailure(backendKey);
    }

    /// <summary>
    /// Stamps a value its creator has just returned and builds the entry to store; null when the entry options decline
    /// to cache it (nothing is written then).
    /// </summary>
    private CacheEntry? StampCreated<T>(
        string backendKey,
        T value,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        long started,
        LockRelease? release,
        Activity? activity,
        out long created)
    {
        TimeSpan duration = _time.GetElapsedTime(started);
        DogpileMetrics.RecordCreation(Name, "created", duration);
        created = _marks.StampCreated();
        _counters.Created();

        if (options?.ShouldCache is { } shouldCache && !shouldCache(value))
        {
            _failures.Succeeded(backendKey);
            release?.Outcome = RefreshOutcome.NotCached;
            activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.NotCached));
            return null;
        }

        return MakeEntry(value, created, lifetime, duration, options?.TagArray);
    }

    /// <summary>A plain (unfenced) write of a created entry; synchronous on the memory backend.</summary>
    private ValueTask WriteCreatedAsync(string backendKey, CacheEntry entry, TimeSpan? ttl)
        => _stampedMemoryWrites ? _memory!.SetStamped(backendKey, entry, ttl) : _backend.SetAsync(backendKey, entry, ttl, CancellationToken.None);

    /// <summary>The backend now holds <paramref name="stored"/> (null: the write was superseded by a newer lock holder's).</summary>
    private void OnCreatedStored(string key, string backendKey, CacheEntry? stored)
    {
        AfterWrite(key, backendKey, stored);
        ForgetLocal(key);
        _failures.Succeeded(backendKey);
    }

    /// <summary>
    /// The write of a created entry failed. The value exists: its callers get it whatever happened to the write. True when
    /// the backend was unavailable and the value is held in this process instead (Degrade).
    /// </summary>
    private bool OnCreatedWriteFailed(string key, string backendKey, CacheEntry entry, Exception ex, LockRelease? release, Activity? activity)
    {
        release?.DistributedReleased = false;
        if (ex is CacheValueTooLargeException tooLarge)
        {
            // Refused before anything was written, the fenced write's release included.
            release?.Outcome = RefreshOutcome.NotCached;
            HoldUnstorable(key, backendKey, entry, tooLarge);
            AfterWrite(key, backendKey, null);
            activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.NotCached));
            return false;
        }

        if (ex is CacheBackendUnavailableException unavailable && _degrade)
        {
            // Dropped, not retried; the value is held here so the key's next callers do not create it again.
            _failures.Succeeded(backendKey);
            OnBackendWriteFailed(BackendOperation.Write, key, unavailable);
            HoldCreatedDuringOutage(key, entry);

            // In degraded mode the near cache keeps the value at once (the feed's reset distrusts it when the backend returns).
            AfterWrite(key, backendKey, entry);
            return true;
        }

        // Losing the write must not lose the value for the callers waiting on it.
        AfterWrite(key, backendKey, null);
        _failures.Succeeded(backendKey);
        Log.BackendWriteFailed(_logger, ex, Name, key);
        activity?.SetOutcome(DogpileTracing.OutcomeName(release?.Outcome ?? RefreshOutcome.Refreshed));
        return false;
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
}
