using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Get-or-create of one key past the inlined hit: the synchronous fresh (or busy stale) answer, the in-line miss, the
/// read, and the slow path that applies dogpile's rules (serve, refresh early, serve stale, elect a regenerator, or
/// wait for the flight).
/// </summary>
internal sealed class GetOrCreatePath
{
    private readonly RegionContext _context;
    private readonly EntryClassifier _classifier;
    private readonly EntryReader _reader;
    private readonly HeldValues _held;
    private readonly NearLayer? _near;
    private readonly RefreshElection _refresh;
    private readonly CreationFlights _flights;
    private readonly MemoryCacheBackend? _memory;
    private readonly ICacheLockProvider? _lockProvider;

    // Copies of what a hit needs to count itself, so it reads no further object.
    private readonly int _hitsSlot;
    private readonly bool _countHits;

    public GetOrCreatePath(RegionContext context, EntryClassifier classifier, EntryReader reader, HeldValues held, NearLayer? near, RefreshElection refresh, CreationFlights flights)
    {
        _context = context;
        _classifier = classifier;
        _reader = reader;
        _held = held;
        _near = near;
        _refresh = refresh;
        _flights = flights;
        _memory = context.Memory;
        _lockProvider = context.LockProvider;
        _hitsSlot = context.Counters.HitsSlot;
        _countHits = context.Counters.CountHitsAlways;
    }

    /// <summary>The hit path shared by ad-hoc creators and cached functions: synchronous for a fresh (or busy stale) value.</summary>
    public ValueTask<T> GetOrCreateCoreAsync<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        IRegisteredFunction? function,
        CancellationToken cancellationToken)
    {
        if (_memory is not null)
        {
            // The embedded default: a direct, synchronous read of the memory backend.
            CacheEntry? peeked = _memory.PeekForHit(backendKey);
            if (_classifier.TryGetFresh(peeked, out T hit))
            {
                CountHit();
                return new ValueTask<T>(hit);
            }

            if (_classifier.TryGetStaleWhileBusy(peeked, backendKey, out T stale))
            {
                _context.Counters.StaleServed();
                return new ValueTask<T>(stale);
            }

            if (peeked is null && _lockProvider is null && _held.HoldsNoUnstorable && !_flights.IsCreating(backendKey))
            {
                return _flights.CreateInLine(key, backendKey, state, creator, options, function, cancellationToken);
            }
        }
        else if (_near?.GetTrusted(key, backendKey) is { } near)
        {
            // A near entry while it is trusted is as good as a read of the backend (keyed by backend key behind a mangler,
            // or a call the inlined path sent here): fresh is a hit, anything else goes on to the slow path with it.
            if (_classifier.TryGetFresh(near, out T hit))
            {
                CountHit();
                return new ValueTask<T>(hit);
            }

            if (_classifier.TryGetStaleWhileBusy(near, backendKey, out T stale))
            {
                _context.Counters.StaleServed();
                return new ValueTask<T>(stale);
            }

            return CreationFlights.UnwrapAsync(GetOrCreateSlowAsync(_context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), near, true, default, cancellationToken));
        }
        else if (_flights.IsCreating(backendKey))
        {
            // This process is already creating the key, and will re-read it under the lock: a read of our own would
            // only be another round trip (a hundred callers of a cold key would send a hundred reads).
            return CreationFlights.UnwrapAsync(CountDegradedAsync(_flights.WaitForCreationAsync(_context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), default, cancellationToken)));
        }

        // A led read goes to AwaitReadAsync even if it has completed since StartRead looked: only there is the lead
        // finished, and an unfinished lead would hold its joiners forever.
        ValueTask<CacheEntry?> read = _reader.StartRead(key, backendKey, cancellationToken, out SharedReads.Lead? lead);
        if (lead is null && read.IsCompletedSuccessfully)
        {
            CacheEntry? entry = read.Result;
            if (_classifier.TryGetFresh(entry, out T value))
            {
                CountHit();
                return new ValueTask<T>(value);
            }

            return CreationFlights.UnwrapAsync(GetOrCreateSlowAsync(_context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), entry, true, default, cancellationToken));
        }

        return AwaitReadAsync(key, backendKey, state, creator, options, function, read, lead, cancellationToken);
    }

    /// <summary>
    /// A remote read in flight: a fresh value costs this one state machine; anything else goes on to the slow path.
    /// Leading a shared read (<paramref name="lead"/> not null), it hands the outcome to the callers that joined.
    /// </summary>
    // Pooled box: a remote GetOrCreate hit suspends here on every read.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> AwaitReadAsync<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        IRegisteredFunction? function,
        ValueTask<CacheEntry?> read,
        SharedReads.Lead? lead,
        CancellationToken cancellationToken)
    {
        CacheEntry? entry;
        bool readFailed = false;
        try
        {
            entry = await read.ConfigureAwait(false);
            _context.SharedReads.Finish(lead, entry);
        }
        catch (CacheSerializationException ex)
        {
            // Joiners get the same exception and count it as their own unreadable entry, as this caller does.
            _context.SharedReads.Fail(lead, ex);
            _context.CountUnreadable(key, ex);
            entry = null;
        }
        catch (Exception ex)
        {
            // Joiners get the same exception and each answers it as this caller does.
            _context.SharedReads.Fail(lead, ex);
            entry = _held.OnBackendReadFailed(key, ex);
            readFailed = true;
        }

        // A remote entry arrives as bytes: classified (and decoded) here, a fresh one is served without the slow path.
        Lookup<T> lookup = _classifier.Classify<T>(key, entry, _context.Clock.CoarseUtcTicks);
        if (lookup.State == EntryState.Fresh && !readFailed)
        {
            CountHit();
            return lookup.Value;
        }

        Call<TState, T> call = _context.NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
        return (await GetOrCreateSlowAsync(call, entry, true, default, cancellationToken, readFailed).ConfigureAwait(false)).Value;
    }

    private async ValueTask<CacheItem<T>> CountDegradedAsync<T>(ValueTask<CacheItem<T>> pending)
    {
        CacheItem<T> item = await pending.ConfigureAwait(false);
        return item.Degraded ? _held.ServedDegraded(item) : item;
    }

    public async ValueTask<CacheItem<T>> GetOrCreateSlowAsync<TState, T>(
        Call<TState, T> call,
        CacheEntry? entry,
        bool entryRead,
        ValueTask<CacheEntry?> pendingRead,
        CancellationToken cancellationToken,
        bool readFailed = false)
    {
        if (!entryRead)
        {
            try
            {
                entry = await pendingRead.ConfigureAwait(false);
            }
            catch (CacheSerializationException ex)
            {
                _context.CountUnreadable(call.Key, ex);
                entry = null;
            }
            catch (CacheBackendUnavailableException ex) when (_context.Degrade)
            {
                entry = _held.OnBackendReadFailed(call.Key, ex);
                readFailed = true;
            }
        }

        CacheItem<T> item = await ServeSlowAsync(call, entry, cancellationToken).ConfigureAwait(false);
        return readFailed || item.Degraded ? _held.ServedDegraded(item) : item;
    }

    private async ValueTask<CacheItem<T>> ServeSlowAsync<TState, T>(Call<TState, T> call, CacheEntry? entry, CancellationToken cancellationToken)
    {
        long now = _context.Clock.CoarseUtcTicks;
        Lookup<T> lookup = _classifier.Classify<T>(call.Key, entry, now);
        switch (_classifier.Decide(lookup.State, call.BackendKey, now))
        {
            case ReadAction.Serve:
                CountHit();
                return lookup.ToItem(now, CacheItemSource.Hit);

            case ReadAction.ServeAndRefreshEarly:
                CountHit();
                _refresh.StartEarlyRefresh(call);
                return lookup.ToItem(now, CacheItemSource.Hit);

            case ReadAction.ServeStale:
                _context.Counters.StaleServed();
                return lookup.ToItem(now, CacheItemSource.Stale);

            case ReadAction.ServeStaleAndRefresh:
            case ReadAction.ElectToRegenerate:
                return await ServeStaleAsync(call, lookup, now, cancellationToken).ConfigureAwait(false);

            default:
                return await _flights.WaitForCreationAsync(call, lookup, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A stale value nobody refreshes yet: elect one regenerator without blocking; everyone else gets the stale value now.</summary>
    private async ValueTask<CacheItem<T>> ServeStaleAsync<TState, T>(Call<TState, T> call, Lookup<T> stale, long now, CancellationToken cancellationToken)
    {
        RefreshRequest? request = await _refresh.TryElectAsync(call, _classifier.ReasonFor(stale.Entry!), cancellationToken).ConfigureAwait(false);
        if (request is not null)
        {
            if (_context.BackgroundRefresh)
            {
                await _refresh.ScheduleAsync(request).ConfigureAwait(false);
            }
            else
            {
                // Dogpile's synchronous mode: the elected caller regenerates in line and gets the new value.
                RefreshResult<T> result = await _refresh.ExecuteRefreshAsync(call, request, cancellationToken).ConfigureAwait(false);
                if (result.Outcome is RefreshOutcome.Refreshed or RefreshOutcome.NotCached or RefreshOutcome.Superseded)
                {
                    return new CacheItem<T>(result.Value, result.CreatedUtcTicks, _context.Clock.CoarseUtcTicks, false, CacheItemSource.Miss, call.Lifetime);
                }

                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        _context.Counters.StaleServed();
        return stale.ToItem(now, CacheItemSource.Stale);
    }

    /// <summary>Get-or-create that returns the value with its metadata and how it was served.</summary>
    public ValueTask<CacheItem<T>> GetOrCreateItemAsync<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        CancellationToken cancellationToken)
    {
        Call<TState, T> call = _context.NewCall(key, backendKey, state, creator, options, null, null);
        if (_memory is null && _flights.IsCreating(backendKey))
        {
            return CountDegradedAsync(_flights.WaitForCreationAsync(call, default, cancellationToken));
        }

        return GetOrCreateSlowAsync(call, null, false, _reader.StartRead(key, backendKey, cancellationToken), cancellationToken);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountHit() => RegionCounters.Hit(_countHits, _hitsSlot);
}
