using System.Collections.Concurrent;
using System.Diagnostics;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// The missing-value path: one creation per key in flight, shared by every waiter (each waits at most the lock
/// timeout; the creation is cancelled only when every waiter has left); the holder of the key's locks (in process, then
/// across processes) re-reads before creating, exactly as dogpile's Lock does after a blocking acquire. An uncontended
/// miss on the memory backend runs in line (<see cref="CreateInLine"/>). Owns the flights.
/// </summary>
internal sealed class CreationFlights(RegionContext context, EntryClassifier classifier, EntryReader reader, EntryStore store, HeldValues held, RefreshElection refresh)
{
    private readonly RegionContext _context = context;
    private readonly EntryClassifier _classifier = classifier;
    private readonly EntryReader _reader = reader;
    private readonly EntryStore _store = store;
    private readonly HeldValues _held = held;
    private readonly RefreshElection _refresh = refresh;
    private readonly MemoryCacheBackend? _memory = context.Memory;
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);

    /// <summary>Whether this process is creating the key now (a flight is in the air).</summary>
    public bool IsCreating(string backendKey) => _flights.ContainsKey(backendKey);

    /// <summary>The value of a get-or-create whose item the caller does not need.</summary>
    public static async ValueTask<T> UnwrapAsync<T>(ValueTask<CacheItem<T>> item) => (await item.ConfigureAwait(false)).Value;

    public ValueTask<CacheItem<T>> WaitForCreationAsync<TState, T>(Call<TState, T> call, Lookup<T> fallback, CancellationToken cancellationToken)
    {
        Flight flight = JoinOrStartFlight(call, out bool joined);
        _context.Counters.Miss();
        return AwaitFlightAsync(call, flight, joined, fallback, cancellationToken);
    }

    /// <summary>Waits for a flight this caller holds a waiter's place in (it leaves that place on the way out).</summary>
    private async ValueTask<CacheItem<T>> AwaitFlightAsync<TState, T>(Call<TState, T> call, Flight flight, bool joined, Lookup<T> fallback, CancellationToken cancellationToken)
    {
        LockWait? wait = null;
        if (joined)
        {
            _context.Counters.LockWaited();
            wait = LockWait.Start(_context.Name, LockWait.InProcess, _context.Time);
        }

        try
        {
            await flight.WhenDone().WaitAsync(_context.LockTimeout, _context.Time, cancellationToken).ConfigureAwait(false);
            wait?.Stop("value_produced");
            return ResultToItem(call, flight.Result);
        }
        catch (TimeoutException ex) when (ex is not CacheLockTimeoutException && !cancellationToken.IsCancellationRequested && !fallback.HasValue)
        {
            wait?.Stop("timeout");
            _context.Counters.LockTimedOut();
            throw new CacheLockTimeoutException(call.Key, _context.LockTimeout);
        }
        catch (Exception ex) when (fallback.HasValue && !cancellationToken.IsCancellationRequested)
        {
            // Too stale to serve normally, but within the stale window: stale-if-error.
            Log.ServingStaleAfterError(_context.Logger, ex, _context.Name, call.Key);
            _context.Counters.StaleServed();
            return fallback.ToItem(_context.Clock.CoarseUtcTicks, CacheItemSource.Stale);
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
    public ValueTask<T> CreateInLine<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        IRegisteredFunction? function,
        CancellationToken cancellationToken)
    {
        _context.ThrowIfDisposed();
        EntryLifetime lifetime = _context.ResolveLifetime(options);
        var flight = new Flight();
        flight.TryAddWaiter();
        if (!_flights.TryAdd(backendKey, flight))
        {
            return UnwrapAsync(WaitForCreationAsync(_context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), default, cancellationToken));
        }

        _context.Counters.Miss();
        KeyedGates.GateLease? held = _context.Gates.TryAcquire(backendKey);
        if (held is not { } gate || _memory!.PeekForHit(backendKey) is not null)
        {
            // A refresh or batch creation holds the key, or a value arrived since the first look: the general flight
            // waits for the gate and judges what it re-reads.
            held?.Release();
            Call<TState, T> general = _context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
            _ = RunFlightAsync(general, flight);
            return UnwrapAsync(AwaitFlightAsync(general, flight, joined: false, default, cancellationToken));
        }

        ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> creation;
        if (!DogpileTracing.Source.HasListeners())
        {
            ValueTask<T> creating;
            long started = _context.Clock.PreciseUtcTicks;
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

            // Went asynchronous, or failed: the awaited steps take it from here.
            creation = _store.StoreCreationAsync(key, backendKey, creating, started, options, lifetime, null, null, null, flight.Token);
        }
        else
        {
            // Traced: the creation span lives in an async method, so the caller's current activity is untouched after it.
            creation = _store.CreateAndStoreAsync(key, backendKey, state, creator, options, lifetime, null, null, flight.Token);
        }

        // The flight finishes like any other, and this caller waits for it like any waiter (its lock timeout and token
        // apply, and leaving does not cancel it for others).
        Call<TState, T> call = _context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
        _ = FinishFlightAsync(key, backendKey, flight, ReleaseAfterAsync(creation, gate, lifetime));
        return UnwrapAsync(AwaitFlightAsync(call, flight, joined: false, default, cancellationToken));
    }

    /// <summary>The in-line miss's creator returned its value at once: stamp, write to the memory backend and end the flight, all without awaiting.</summary>
    private ValueTask<T> StoreInLine<T>(string key, string backendKey, T value, CacheEntryOptions? options, EntryLifetime lifetime, long started, Flight flight, KeyedGates.GateLease gate)
    {
        long created;
        bool held = false;
        try
        {
            if (_store.StampCreated(backendKey, value, options, lifetime, started, null, null, out created) is { } entry)
            {
                ValueTask write = _store.WriteCreatedAsync(backendKey, entry, _context.TimeToLive(lifetime));
                Debug.Assert(write.IsCompleted, "The memory backend writes synchronously.");
                try
                {
                    write.GetAwaiter().GetResult();
                    _store.OnCreatedStored(key, backendKey, entry);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    held = _store.OnCreatedWriteFailed(key, backendKey, entry, ex, null, null);
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

        return new CacheItem<T>(value, result.CreatedUtcTicks, _context.Clock.CoarseUtcTicks, result.Stale, result.Stale ? CacheItemSource.Stale : CacheItemSource.Miss, result.Lifetime, result.Degraded);
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
            Log.CreatorFailed(_context.Logger, failure, _context.Name, key);
        }

        _flights.TryRemove(new KeyValuePair<string, Flight>(backendKey, flight));
        flight.Fail(failure);
    }

    /// <summary>Takes the key's locks (in process, then across processes), re-reads, and creates if still needed.</summary>
    public async ValueTask<FlightResult> CreateUnderLockAsync<TState, T>(Call<TState, T> call, bool reread, CancellationToken cancellationToken)
    {
        KeyedGates.GateLease gate = await _context.Gates.AcquireAsync(call.BackendKey, Timeout.InfiniteTimeSpan, _context.Time, cancellationToken).ConfigureAwait(false);
        ICacheLock? distributedLock = null;
        bool handedOff = false;
        LockRelease? release = null;
        bool lockUnavailable = false;
        try
        {
            if (_context.LockProvider is not null)
            {
                var waiter = new DistributedWaiter<T>(_context, _classifier, _reader, call.Key, call.BackendKey, reread);
                LockWait? wait = LockWait.Start(_context.Name, LockWait.Distributed, _context.Time);
                try
                {
                    distributedLock = await waiter.AcquireAsync(_context.LockProvider, _context.LockTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (CacheBackendUnavailableException ex) when (_context.Degrade)
                {
                    // The key's gate is held: one creator per key in this process, none across processes.
                    wait?.Stop("unavailable");
                    _held.OnLockUnavailable(call.Key, ex);
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
                Lookup<T> lookup = distributedLock is not null && _context.LockReadsBackend && distributedLock.TryGetEntryReadWithLock(out CacheEntry? readWithLock)
                    ? _classifier.Classify<T>(call.Key, readWithLock, _context.Clock.CoarseUtcTicks)
                    : await _reader.ReadLookupAsync<T>(call.Key, call.BackendKey, cancellationToken).ConfigureAwait(false);
                long now = _context.Clock.CoarseUtcTicks;
                ReadAction action = lookup.IsFresh ? ReadAction.Serve
                    : EntryPolicy.Decide(lookup.State, _context.IsBackingOff(call.BackendKey, now), refreshBusy: false, _context.BackgroundRefresh);
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
                    await _refresh.ScheduleAsync(_refresh.NewRefreshRequest(call, _classifier.ReasonFor(lookup.Entry!), gate, distributedLock)).ConfigureAwait(false);
                    return new FlightResult(lookup.Value, lookup.Entry!.CreatedUtcTicks, lookup.Entry.Lifetime, stale: true, degraded);
                }
            }

            (T value, long created, bool notStored) = await _store.CreateAndStoreAsync(call, distributedLock, release, cancellationToken).ConfigureAwait(false);
            return new FlightResult(value, created, call.Lifetime, stale: false, lockUnavailable || notStored);
        }
        finally
        {
            if (!handedOff)
            {
                gate.Release();
                if (distributedLock is not null && release?.DistributedReleased != true)
                {
                    await _context.ReleaseQuietlyAsync(distributedLock, call.Key).ConfigureAwait(false);
                }
            }
        }
    }
}
