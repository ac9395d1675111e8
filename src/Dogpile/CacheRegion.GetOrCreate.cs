using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// Get-or-create: the synchronous hit path, and the slow path that applies dogpile's rules.
public sealed partial class CacheRegion
{
    /// <summary>Returns the cached value, creating it with <paramref name="creator"/> when needed (see the class remarks for the lock rules).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="creator">Creates the value; it receives a token that is cancelled only when every waiting caller has given up.</param>
    /// <param name="options">Per-call options.</param>
    /// <param name="cancellationToken">Cancels this caller's wait (not a creation other callers wait for).</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">The key is null, empty or too long, or an option is invalid.</exception>
    /// <exception cref="CacheLockTimeoutException">Another caller's creation took longer than the lock timeout.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ValueTask<T> GetOrCreateAsync<T>(
        string key,
        Func<CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(creator);
        return GetOrCreateAsync(key, creator, static (create, ct) => create(ct), options, cancellationToken);
    }

    /// <summary>
    /// Returns the cached value, creating it with <paramref name="creator"/> when needed. The state is passed
    /// to the creator, so a hot caller can use a static lambda and allocate nothing on a hit.
    /// </summary>
    /// <typeparam name="TState">The creator's state.</typeparam>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="state">Passed to <paramref name="creator"/>.</param>
    /// <param name="creator">Creates the value.</param>
    /// <param name="options">Per-call options.</param>
    /// <param name="cancellationToken">Cancels this caller's wait (not a creation other callers wait for).</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ValueTask<T> GetOrCreateAsync<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        // Inlined into the caller: there T is known, so the type check is a constant compare and the ValueTask is
        // built in registers. Anything but a fresh memory hit with a plain key goes out of line.
        if (options is null && creator is not null && TryGetMemoryHit(key, out T hit))
        {
            return new ValueTask<T>(hit);
        }

        return GetOrCreateOutOfLineAsync(key, state, creator!, options, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<T> GetOrCreateOutOfLineAsync<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        CancellationToken cancellationToken)
    {
        string backendKey = ToBackendKey(key);
        ArgumentNullException.ThrowIfNull(creator);
        if (options is not null)
        {
            _ = ResolveLifetime(options);
        }

        return GetOrCreateCoreAsync(key, backendKey, state, creator, options, null, cancellationToken);
    }

    /// <summary>
    /// The embedded default's hit: a fresh value in the memory backend under a key that needs no prefix or mangling.
    /// Synchronous and allocation-free; false sends the caller down the general path (which judges the key again).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetMemoryHit<T>(string key, out T value)
    {
        if (_inlineHitMemory is { } memory
            && key is not null
            && (uint)(key.Length - 1) < (uint)_hitKeyMaxChars
            && _clock.CoarseUtcTicks is var now
            && memory.PeekForHit(key, now) is { } entry
            && _marks.ServesAsHit(entry, now)
            && EntryClassifier.TryCast(entry.Decoded, out value))
        {
            CountHit();
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>The hit path shared by ad-hoc creators and cached functions: synchronous for a fresh (or busy stale) value.</summary>
    private ValueTask<T> GetOrCreateCoreAsync<TState, T>(
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
            if (TryGetFresh(peeked, out T hit))
            {
                CountHit();
                return new ValueTask<T>(hit);
            }

            if (TryGetStaleWhileBusy(peeked, backendKey, out T stale))
            {
                _counters.StaleServed();
                return new ValueTask<T>(stale);
            }

            if (peeked is null && _lockProvider is null && _held.HoldsNoUnstorable && !_flights.ContainsKey(backendKey))
            {
                return CreateInLine(key, backendKey, state, creator, options, function, cancellationToken);
            }
        }
        else if (_near?.GetTrusted(key, backendKey) is { } near)
        {
            // A near entry while it is trusted is as good as a read of the backend (keyed by backend key behind a mangler,
            // or a call the inlined path sent here): fresh is a hit, anything else goes on to the slow path with it.
            if (TryGetFresh(near, out T hit))
            {
                CountHit();
                return new ValueTask<T>(hit);
            }

            if (TryGetStaleWhileBusy(near, backendKey, out T stale))
            {
                _counters.StaleServed();
                return new ValueTask<T>(stale);
            }

            return UnwrapAsync(GetOrCreateSlowAsync(NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), near, true, default, cancellationToken));
        }
        else if (_flights.ContainsKey(backendKey))
        {
            // This process is already creating the key, and will re-read it under the lock: a read of our own would
            // only be another round trip (a hundred callers of a cold key would send a hundred reads).
            return UnwrapAsync(CountDegradedAsync(WaitForCreationAsync(NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), default, cancellationToken)));
        }

        // A led read goes to AwaitReadAsync even if it has completed since StartRead looked: only there is the lead
        // finished, and an unfinished lead would hold its joiners forever.
        ValueTask<CacheEntry?> read = StartRead(key, backendKey, cancellationToken, out SharedReads.Lead? lead);
        if (lead is null && read.IsCompletedSuccessfully)
        {
            CacheEntry? entry = read.Result;
            if (TryGetFresh(entry, out T value))
            {
                CountHit();
                return new ValueTask<T>(value);
            }

            return UnwrapAsync(GetOrCreateSlowAsync(NewCall(key, backendKey, state, creator, options, function, function is null ? null : state), entry, true, default, cancellationToken));
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
            _sharedReads.Finish(lead, entry);
        }
        catch (CacheSerializationException ex)
        {
            // Joiners get the same exception and count it as their own unreadable entry, as this caller does.
            _sharedReads.Fail(lead, ex);
            CountUnreadable(key, ex);
            entry = null;
        }
        catch (Exception ex)
        {
            // Joiners get the same exception and each answers it as this caller does.
            _sharedReads.Fail(lead, ex);
            entry = OnBackendReadFailed(key, ex);
            readFailed = true;
        }

        // A remote entry arrives as bytes: classified (and decoded) here, a fresh one is served without the slow path.
        Lookup<T> lookup = Classify<T>(key, entry, _clock.CoarseUtcTicks);
        if (lookup.State == EntryState.Fresh && !readFailed)
        {
            CountHit();
            return lookup.Value;
        }

        Call<TState, T> call = NewCall(key, backendKey, state, creator, options, function, function is null ? null : state);
        return (await GetOrCreateSlowAsync(call, entry, true, default, cancellationToken, readFailed).ConfigureAwait(false)).Value;
    }

    /// <summary>Like <see cref="GetOrCreateAsync{TState, T}"/>, but returns the value with its metadata and how it was served (hit, stale or miss).</summary>
    /// <typeparam name="TState">The creator's state.</typeparam>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="state">Passed to <paramref name="creator"/>.</param>
    /// <param name="creator">Creates the value.</param>
    /// <param name="options">Per-call options.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The value with its metadata.</returns>
    public ValueTask<CacheItem<T>> GetOrCreateItemAsync<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        string backendKey = ToBackendKey(key);
        Call<TState, T> call = NewCall(key, backendKey, state, creator, options, null, null);
        if (_memory is null && _flights.ContainsKey(backendKey))
        {
            return CountDegradedAsync(WaitForCreationAsync(call, default, cancellationToken));
        }

        return GetOrCreateSlowAsync(call, null, false, StartRead(key, backendKey, cancellationToken), cancellationToken);
    }

    private Call<TState, T> NewCall<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        IRegisteredFunction? function,
        object? arguments)
    {
        ArgumentNullException.ThrowIfNull(creator);
        ThrowIfDisposed();
        return new Call<TState, T>(key, backendKey, state, creator, options, ResolveLifetime(options), function, arguments);
    }

    private async ValueTask<CacheItem<T>> CountDegradedAsync<T>(ValueTask<CacheItem<T>> pending)
    {
        CacheItem<T> item = await pending.ConfigureAwait(false);
        return item.Degraded ? ServedDegraded(item) : item;
    }

    private static async ValueTask<T> UnwrapAsync<T>(ValueTask<CacheItem<T>> item) => (await item.ConfigureAwait(false)).Value;

    private async ValueTask<CacheItem<T>> GetOrCreateSlowAsync<TState, T>(
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
                CountUnreadable(call.Key, ex);
                entry = null;
            }
            catch (CacheBackendUnavailableException ex) when (_degrade)
            {
                entry = OnBackendReadFailed(call.Key, ex);
                readFailed = true;
            }
        }

        CacheItem<T> item = await ServeSlowAsync(call, entry, cancellationToken).ConfigureAwait(false);
        return readFailed || item.Degraded ? ServedDegraded(item) : item;
    }

    private async ValueTask<CacheItem<T>> ServeSlowAsync<TState, T>(Call<TState, T> call, CacheEntry? entry, CancellationToken cancellationToken)
    {
        long now = _clock.CoarseUtcTicks;
        Lookup<T> lookup = Classify<T>(call.Key, entry, now);
        switch (Decide(lookup.State, call.BackendKey, now))
        {
            case ReadAction.Serve:
                CountHit();
                return ToItem(lookup, now, CacheItemSource.Hit);

            case ReadAction.ServeAndRefreshEarly:
                CountHit();
                StartEarlyRefresh(call);
                return ToItem(lookup, now, CacheItemSource.Hit);

            case ReadAction.ServeStale:
                _counters.StaleServed();
                return ToItem(lookup, now, CacheItemSource.Stale);

            case ReadAction.ServeStaleAndRefresh:
            case ReadAction.ElectToRegenerate:
                return await ServeStaleAsync(call, lookup, now, cancellationToken).ConfigureAwait(false);

            default:
                return await WaitForCreationAsync(call, lookup, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The decision table applied to a key as it stands now.</summary>
    private ReadAction Decide(EntryState state, string backendKey, long now)
        => state is EntryState.Missing or EntryState.Fresh
            ? EntryPolicy.Decide(state, backingOff: false, refreshBusy: false, _backgroundRefresh)
            : EntryPolicy.Decide(state, IsBackingOff(backendKey, now), _gates.IsBusy(backendKey), _backgroundRefresh);

    /// <summary>A stale value nobody refreshes yet: elect one regenerator without blocking; everyone else gets the stale value now.</summary>
    private async ValueTask<CacheItem<T>> ServeStaleAsync<TState, T>(Call<TState, T> call, Lookup<T> stale, long now, CancellationToken cancellationToken)
    {
        RefreshRequest? request = await TryElectAsync(call, ReasonFor(stale.Entry!), cancellationToken).ConfigureAwait(false);
        if (request is not null)
        {
            if (_backgroundRefresh)
            {
                await ScheduleAsync(request).ConfigureAwait(false);
            }
            else
            {
                // Dogpile's synchronous mode: the elected caller regenerates in line and gets the new value.
                RefreshResult<T> result = await ExecuteRefreshAsync(call, request, cancellationToken).ConfigureAwait(false);
                if (result.Outcome is RefreshOutcome.Refreshed or RefreshOutcome.NotCached or RefreshOutcome.Superseded)
                {
                    return new CacheItem<T>(result.Value, result.CreatedUtcTicks, _clock.CoarseUtcTicks, false, CacheItemSource.Miss, call.Lifetime);
                }

                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        _counters.StaleServed();
        return ToItem(stale, now, CacheItemSource.Stale);
    }
}
