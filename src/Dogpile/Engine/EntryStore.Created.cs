using System.Diagnostics;
using Dogpile.Internal;

namespace Dogpile.Engine;

// Created values: the one path from a creator's value to the stored entry (create, stamp, should-cache, fenced or plain
// write, and what follows the write), for misses (awaited or in line), refreshes, refresh jobs and multi-key creation.
internal sealed partial class EntryStore
{
    public ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> CreateAndStoreAsync<TState, T>(
        Call<TState, T> call,
        ICacheLock? distributedLock,
        LockRelease? release,
        CancellationToken cancellationToken)
        => CreateAndStoreAsync(call.Key, call.BackendKey, call.State, call.Creator, call.Options, call.Lifetime, distributedLock, release, cancellationToken);

    /// <summary>
    /// Runs the creator, stamps the created time when it finishes, and stores the value (fenced when the backend can):
    /// the path from creator to stored entry for misses, refreshes and cached functions.
    /// <c>HeldDuringOutage</c>: the backend was unavailable, so the value is held in this process instead (Degrade).
    /// </summary>
    public async ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> CreateAndStoreAsync<TState, T>(
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
        // In this async method, so the caller's current activity is its own again once this returns.
        using Activity? activity = DogpileTracing.StartCreation(_context.Name, key, _context.TraceKeys);
        long started = _context.Clock.PreciseUtcTicks;
        ValueTask<T> creating;
        try
        {
            creating = creator(state, cancellationToken);
        }
        catch (Exception ex)
        {
            creating = ValueTask.FromException<T>(ex);
        }

        return await StoreCreationAsync(key, backendKey, creating, started, options, lifetime, distributedLock, release, activity, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The steps after the creator was called (started at <paramref name="started"/>): await it, stamp, store (fenced when
    /// the backend can and a lock is held), and what follows the write. Its steps (<see cref="OnCreatorFailed"/>,
    /// <see cref="StampCreated"/>, <see cref="OnCreatedStored"/>, <see cref="OnCreatedWriteFailed"/>) are also what the
    /// in-line miss (<see cref="CreationFlights.CreateInLine"/>) runs without awaiting; it comes here when its creator
    /// goes asynchronous.
    /// </summary>
    public async ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> StoreCreationAsync<T>(
        string key,
        string backendKey,
        ValueTask<T> creating,
        long started,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        ICacheLock? distributedLock,
        LockRelease? release,
        Activity? activity,
        CancellationToken cancellationToken)
    {
        T value;
        try
        {
            value = await creating.ConfigureAwait(false);
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

        TimeSpan? ttl = _context.TimeToLive(lifetime);
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
                    Log.WriteSuperseded(_context.Logger, _context.Name, key);
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

    /// <summary>
    /// A creation's duration from the precise clock's readings before the creator and at the created stamp: one clock
    /// read per creation fewer than a separate timer (a miss is measured against the peers'). A wall clock stepped back
    /// meanwhile reads as zero; the duration only shapes the early-refresh lead (capped) and the metrics.
    /// </summary>
    private static TimeSpan Since(long startedUtcTicks, long nowUtcTicks) => new(Math.Max(0, nowUtcTicks - startedUtcTicks));

    public void OnCreatorFailed(string backendKey, long started, Activity? activity, Exception ex)
    {
        DogpileMetrics.RecordCreation(_context.Name, "failed", Since(started, _context.Clock.PreciseUtcTicks));
        activity?.SetFailed(ex);
        _context.Counters.CreationFailed();
        _context.RecordFailure(backendKey);
    }

    /// <summary>
    /// Stamps a value its creator has just returned and builds the entry to store; null when the entry options decline
    /// to cache it (nothing is written then).
    /// </summary>
    public CacheEntry? StampCreated<T>(
        string backendKey,
        T value,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        long started,
        LockRelease? release,
        Activity? activity,
        out long created)
    {
        created = _context.Marks.StampCreated(out long now);
        TimeSpan duration = Since(started, now);
        DogpileMetrics.RecordCreation(_context.Name, "created", duration);
        _context.Counters.Created();
        return EntryToStore(backendKey, value, options, lifetime, created, duration, release, activity);
    }

    /// <summary>
    /// The values a multi-key creator has just returned, one per slot (in order): stamped once for the batch, each
    /// built as <see cref="StampCreated"/> builds one, and written, fenced one by one where the key's lock allows it,
    /// the rest in one batch (<see cref="WritePlainAsync"/>).
    /// </summary>
    public async ValueTask StoreCreatedManyAsync<T>(List<MultiSlot<T>> slots, IReadOnlyList<T> values, CacheEntryOptions? options, EntryLifetime lifetime, long started)
    {
        long created = _context.Marks.StampCreated(out long now);
        TimeSpan duration = Since(started, now);
        TimeSpan? ttl = _context.TimeToLive(lifetime);
        _context.Counters.Created(slots.Count);
        var plainWrites = new List<CacheWrite>(slots.Count);
        var plainKeys = new List<string>(slots.Count);
        for (int i = 0; i < slots.Count; i++)
        {
            MultiSlot<T> slot = slots[i];
            _context.Failures.Succeeded(slot.BackendKey);
            if (EntryToStore(slot.BackendKey, values[i], options, lifetime, created, duration, release: null, activity: null) is not { } entry)
            {
                continue;
            }

            ICacheLock? distributedLock = slot.DistributedLock ?? slot.Request?.DistributedLock;
            if (distributedLock is not null && _backend is IFencedCacheBackend fenced)
            {
                await WriteFencedAsync(fenced, slot, entry, ttl, distributedLock).ConfigureAwait(false);
            }
            else
            {
                plainWrites.Add(new CacheWrite(slot.BackendKey, entry, ttl));
                plainKeys.Add(slot.Key);
            }
        }

        if (plainWrites.Count > 0)
        {
            await WritePlainAsync(plainWrites, plainKeys).ConfigureAwait(false);
        }
    }

    /// <summary>A created value as the entry to store; null when the entry options decline to cache it (nothing is written then).</summary>
    private CacheEntry? EntryToStore<T>(
        string backendKey,
        T value,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        long created,
        TimeSpan duration,
        LockRelease? release,
        Activity? activity)
    {
        if (options?.ShouldCache is { } shouldCache && !shouldCache(value))
        {
            _context.Failures.Succeeded(backendKey);
            release?.Outcome = RefreshOutcome.NotCached;
            activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.NotCached));
            return null;
        }

        return MakeEntry(value, created, lifetime, duration, options?.TagArray);
    }

    /// <summary>A plain (unfenced) write of a created entry; synchronous on the memory backend.</summary>
    public ValueTask WriteCreatedAsync(string backendKey, CacheEntry entry, TimeSpan? ttl)
        => _stampedMemoryWrites ? _memory!.SetStamped(backendKey, entry, ttl) : _backend.SetAsync(backendKey, entry, ttl, CancellationToken.None);

    /// <summary>The backend now holds <paramref name="stored"/> (null: the write was superseded by a newer lock holder's).</summary>
    public void OnCreatedStored(string key, string backendKey, CacheEntry? stored)
    {
        AfterWrite(key, backendKey, stored);
        _held.Forget(key);
        _context.Failures.Succeeded(backendKey);
    }

    /// <summary>
    /// The write of a created entry failed. The value exists: its callers get it whatever happened to the write. True when
    /// the backend was unavailable and the value is held in this process instead (Degrade).
    /// </summary>
    public bool OnCreatedWriteFailed(string key, string backendKey, CacheEntry entry, Exception ex, LockRelease? release, Activity? activity)
    {
        release?.DistributedReleased = false;
        if (ex is CacheValueTooLargeException tooLarge)
        {
            // Refused before anything was written, the fenced write's release included.
            release?.Outcome = RefreshOutcome.NotCached;
            _held.HoldUnstorable(key, backendKey, entry, tooLarge);
            AfterWrite(key, backendKey, null);
            activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.NotCached));
            return false;
        }

        if (ex is CacheBackendUnavailableException unavailable && _degrade)
        {
            // Dropped, not retried; the value is held here so the key's next callers do not create it again.
            _context.Failures.Succeeded(backendKey);
            _held.OnBackendWriteFailed(BackendOperation.Write, key, unavailable);
            _held.HoldCreatedDuringOutage(key, entry);

            // In degraded mode the near cache keeps the value at once (the feed's reset distrusts it when the backend returns).
            AfterWrite(key, backendKey, entry);
            return true;
        }

        // Losing the write must not lose the value for the callers waiting on it.
        AfterWrite(key, backendKey, null);
        _context.Failures.Succeeded(backendKey);
        Log.BackendWriteFailed(_context.Logger, ex, _context.Name, key);
        activity?.SetOutcome(DogpileTracing.OutcomeName(release?.Outcome ?? RefreshOutcome.Refreshed));
        return false;
    }

    /// <summary>One key's fenced write and release; a failed write loses the caching, never the created value.</summary>
    private async ValueTask WriteFencedAsync<T>(IFencedCacheBackend fenced, MultiSlot<T> slot, CacheEntry entry, TimeSpan? ttl, ICacheLock distributedLock)
    {
        slot.DistributedReleased = true;
        try
        {
            if (!await fenced.SetAndReleaseAsync(slot.BackendKey, entry, ttl, distributedLock, CancellationToken.None).ConfigureAwait(false))
            {
                Log.WriteSuperseded(_context.Logger, _context.Name, slot.Key);
            }

            AfterWrite(slot.Key, slot.BackendKey, null);
            _held.Forget(slot.Key);
        }
        catch (CacheValueTooLargeException ex)
        {
            slot.DistributedReleased = false;
            _held.HoldUnstorable(slot.Key, slot.BackendKey, entry, ex);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            slot.DistributedReleased = false;
            _held.OnBackendWriteFailed(BackendOperation.Write, slot.Key, ex);
            _held.HoldCreatedDuringOutage(slot.Key, entry);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            slot.DistributedReleased = false;
            AfterWrite(slot.Key, slot.BackendKey, null);
            Log.BackendWriteFailed(_context.Logger, ex, _context.Name, slot.Key);
        }
    }

    /// <summary>
    /// The unfenced writes in one batch. A batch refused because one value is too large (nothing is written) is written
    /// key by key instead, so only the oversized values are held in process and the others are cached.
    /// </summary>
    private async ValueTask WritePlainAsync(List<CacheWrite> writes, List<string> keys)
    {
        try
        {
            await WritePlainCoreAsync(writes, keys).ConfigureAwait(false);
        }
        finally
        {
            _near?.AfterWrites(keys, writes.ConvertAll(w => w.Key));
        }
    }

    private async ValueTask WritePlainCoreAsync(List<CacheWrite> writes, List<string> keys)
    {
        try
        {
            await _backend.SetManyAsync(writes, CancellationToken.None).ConfigureAwait(false);
            foreach (string key in keys)
            {
                _held.Forget(key);
            }

            return;
        }
        catch (CacheValueTooLargeException) when (writes.Count > 1)
        {
        }
        catch (CacheValueTooLargeException ex)
        {
            _held.HoldUnstorable(keys[0], writes[0].Key, writes[0].Entry, ex);
            return;
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            // One failure for the batch, logged and counted once; every value is held here.
            _held.OnBackendWriteFailed(BackendOperation.Write, string.Join(",", keys), ex);
            for (int i = 0; i < writes.Count; i++)
            {
                _held.HoldCreatedDuringOutage(keys[i], writes[i].Entry);
            }

            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.BackendWriteFailed(_context.Logger, ex, _context.Name, string.Join(",", keys));
            return;
        }

        for (int i = 0; i < writes.Count; i++)
        {
            try
            {
                await _backend.SetAsync(writes[i].Key, writes[i].Entry, writes[i].TimeToLive, CancellationToken.None).ConfigureAwait(false);
                _held.Forget(keys[i]);
            }
            catch (CacheValueTooLargeException ex)
            {
                _held.HoldUnstorable(keys[i], writes[i].Key, writes[i].Entry, ex);
            }
            catch (CacheBackendUnavailableException ex) when (_degrade)
            {
                _held.OnBackendWriteFailed(BackendOperation.Write, keys[i], ex);
                _held.HoldCreatedDuringOutage(keys[i], writes[i].Entry);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.BackendWriteFailed(_context.Logger, ex, _context.Name, keys[i]);
            }
        }
    }
}
