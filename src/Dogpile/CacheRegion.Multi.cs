using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// Multi-key operations. GetOrCreateManyAsync is dogpile's get_or_create_multi: one creator call for all the
// keys that need a value, with the per-key locks taken in sorted order so two callers can never deadlock.
public sealed partial class CacheRegion
{
    /// <summary>Reads many fresh values, in one backend round trip where the backend allows it.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One result per key, in the order given.</returns>
    public async ValueTask<CacheResult<T>[]> GetManyAsync<T>(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        string[] backendKeys = ToBackendKeys(keys);
        CacheEntry?[] entries = await ReadManyAsync(keys, backendKeys, cancellationToken, throughNear: true).ConfigureAwait(false);
        long now = _clock.CoarseUtcTicks;
        var results = new CacheResult<T>[keys.Count];
        for (int i = 0; i < results.Length; i++)
        {
            Lookup<T> lookup = Classify<T>(keys[i], entries[i], now);
            results[i] = lookup.IsFresh ? new CacheResult<T>(lookup.Value) : default(CacheResult<T>);
        }

        return results;
    }

    /// <summary>Stores many values; each counts as created now.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="items">The keys and values.</param>
    /// <param name="options">Per-call options (expiration).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the values are stored.</returns>
    public ValueTask SetManyAsync<T>(IEnumerable<KeyValuePair<string, T>> items, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        EntryLifetime lifetime = ResolveLifetime(options);
        TimeSpan? ttl = TimeToLive(lifetime);
        long created = _marks.StampCreated();
        var writes = new List<CacheWrite>();
        var callerKeys = new List<string>();
        foreach (KeyValuePair<string, T> item in items)
        {
            string backendKey = ToBackendKey(item.Key);
            callerKeys.Add(item.Key);
            writes.Add(new CacheWrite(backendKey, MakeEntry(item.Value, created, lifetime, TimeSpan.Zero, options?.TagArray), ttl));
            _failures.Succeeded(backendKey);
            ForgetLocal(item.Key);
        }

        if (writes.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        ValueTask write = _backend.SetManyAsync(writes, cancellationToken);
        if (_memory is not null)
        {
            return write;
        }

        ValueTask guarded = SetManyOrDegradeAsync(write, writes, callerKeys);
        return _near is not null ? EvictNearAfterAsync(guarded, callerKeys, writes.ConvertAll(w => w.Key)) : guarded;
    }

    /// <summary>A remote batch write in flight: under Degrade a failed one is dropped, and this process holds the values it set.</summary>
    private async ValueTask SetManyOrDegradeAsync(ValueTask write, List<CacheWrite> writes, List<string> keys)
    {
        try
        {
            await ForgetSharedReadsAfterAsync(write, writes.Select(w => w.Key)).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            OnBackendWriteFailed(BackendOperation.Write, string.Join(",", keys), ex);
            for (int i = 0; i < writes.Count; i++)
            {
                HoldCreatedDuringOutage(keys[i], writes[i].Entry);
            }
        }
    }

    /// <summary>Removes many values.</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns>A task that completes when the values are gone.</returns>
    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        IReadOnlyList<string> backendKeys = ToBackendKeys(keys);
        foreach (string key in keys)
        {
            ForgetLocal(key);
        }

        ValueTask removal = _backend.RemoveManyAsync(backendKeys, cancellationToken);
        if (_memory is not null)
        {
            return removal;
        }

        ValueTask guarded = RemoveManyOrDegradeAsync(removal, keys, backendKeys);
        return _near is not null ? EvictNearAfterAsync(guarded, keys, backendKeys) : guarded;
    }

    /// <summary>A remote batch removal in flight: under Degrade a failed one is dropped, logged and counted once.</summary>
    private async ValueTask RemoveManyOrDegradeAsync(ValueTask removal, IReadOnlyList<string> keys, IReadOnlyList<string> backendKeys)
    {
        try
        {
            await ForgetSharedReadsAfterAsync(removal, backendKeys).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            OnBackendWriteFailed(BackendOperation.Remove, string.Join(",", keys), ex);
        }
    }

    /// <summary>
    /// Returns a value for every key, calling <paramref name="creator"/> <b>once</b> for all the keys that
    /// have no usable value. Stale keys follow the single-key rules (one regenerator, the others get the stale value).
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="keys">The keys; duplicates are allowed and answered alike.</param>
    /// <param name="creator">
    /// Receives the distinct keys that need values, in ordinal order, and returns one value per key in that order.
    /// </param>
    /// <param name="options">Per-call options.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The values, in the order of <paramref name="keys"/>.</returns>
    /// <exception cref="InvalidOperationException">The creator returned a different number of values than keys.</exception>
    public ValueTask<T[]> GetOrCreateManyAsync<T>(
        IReadOnlyList<string> keys,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>> creator,
        CacheEntryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(creator);
        return GetOrCreateManyCoreAsync(keys, creator, options, function: null, force: false, cancellationToken);
    }

    /// <summary>A many-argument cached function's call: its keys, with the argument behind each for single-key refreshes.</summary>
    internal ValueTask<T[]> GetOrCreateManyRegisteredAsync<TArg, T>(
        CachedManyFunction<TArg, T> function,
        string[] keys,
        Dictionary<string, TArg> byKey,
        CacheEntryOptions? options,
        bool force,
        CancellationToken cancellationToken)
        => GetOrCreateManyCoreAsync<T>(
            keys,
            (missing, ct) => function.Function(missing.Select(k => byKey[k]).ToArray(), ct),
            options,
            new ManyFunction(function, key => byKey[key]),
            force,
            cancellationToken);

    // function: the registered function behind the creator, so a single key's refresh can leave the process.
    // force: regenerate every key under its lock whatever is cached (a cached function's refresh).
    private async ValueTask<T[]> GetOrCreateManyCoreAsync<T>(
        IReadOnlyList<string> keys,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>> creator,
        CacheEntryOptions? options,
        ManyFunction? function,
        bool force,
        CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        EntryLifetime lifetime = ResolveLifetime(options);

        // Distinct keys, each with its backend key; results are filled per distinct key.
        var slots = new Dictionary<string, MultiSlot<T>>(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            if (!slots.ContainsKey(key ?? throw new ArgumentNullException(nameof(keys), "A cache key must not be null.")))
            {
                slots.Add(key, new MultiSlot<T>(key, ToBackendKey(key)));
            }
        }

        MultiSlot<T>[] distinct = [.. slots.Values];
        CacheEntry?[] entries = force
            ? new CacheEntry?[distinct.Length]
            : await ReadManyAsync(distinct.Select(s => s.Key).ToArray(), distinct.Select(s => s.BackendKey).ToArray(), cancellationToken, throughNear: true).ConfigureAwait(false);

        long now = _clock.CoarseUtcTicks;
        var needed = new List<MultiSlot<T>>();
        for (int i = 0; i < distinct.Length; i++)
        {
            MultiSlot<T> slot = distinct[i];
            Lookup<T> lookup = force ? Lookup<T>.Missing : Classify<T>(slot.Key, entries[i], now);
            slot.Lookup = lookup;
            switch (Decide(lookup.State, slot.BackendKey, now))
            {
                case ReadAction.Serve:
                    CountHit();
                    slot.Done(lookup.Value);
                    break;
                case ReadAction.ServeAndRefreshEarly:
                    CountHit();
                    slot.Done(lookup.Value);
                    StartEarlyRefresh(SingleKeyCall(slot, creator, options, lifetime, function));
                    break;
                case ReadAction.ServeStale:
                    _counters.StaleServed();
                    slot.Done(lookup.Value);
                    break;
                case ReadAction.ServeStaleAndRefresh:
                    _counters.StaleServed();
                    slot.Done(lookup.Value);
                    RefreshRequest? request = await TryElectAsync(SingleKeyCall(slot, creator, options, lifetime, function), ReasonFor(lookup.Entry!), cancellationToken).ConfigureAwait(false);
                    if (request is not null)
                    {
                        await ScheduleAsync(request).ConfigureAwait(false);
                    }

                    break;
                default:
                    // Wait (missing, too stale) and ElectToRegenerate (stale, synchronous mode): handled with the locks in sorted order.
                    needed.Add(slot);
                    break;
            }
        }

        if (needed.Count > 0)
        {
            await CreateManyAsync(needed, creator, options, lifetime, function, force, cancellationToken).ConfigureAwait(false);
        }

        var results = new T[keys.Count];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = slots[keys[i]].Value;
        }

        return results;
    }

    private async ValueTask CreateManyAsync<T>(
        List<MultiSlot<T>> needed,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>> creator,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        ManyFunction? function,
        bool force,
        CancellationToken cancellationToken)
    {
        // Sorted acquisition: a caller only ever waits for a key while holding smaller keys, so no cycle can form.
        needed.Sort(static (a, b) => string.CompareOrdinal(a.BackendKey, b.BackendKey));
        var held = new List<MultiSlot<T>>(needed.Count);
        try
        {
            foreach (MultiSlot<T> slot in needed)
            {
                if (slot.Lookup.State == EntryState.Stale)
                {
                    // A stale key is never waited for: if another caller is regenerating it, serve it stale.
                    RefreshRequest? elected = await TryElectAsync(SingleKeyCall(slot, creator, options, lifetime, function), ReasonFor(slot.Lookup.Entry!), cancellationToken).ConfigureAwait(false);
                    if (elected is null)
                    {
                        _counters.StaleServed();
                        slot.Done(slot.Lookup.Value);
                        continue;
                    }

                    slot.Request = elected;
                }
                else
                {
                    _counters.Miss();
                    slot.Gate = await AcquireGateAsync(slot.Key, slot.BackendKey, cancellationToken).ConfigureAwait(false);
                    if (_lockProvider is not null)
                    {
                        try
                        {
                            slot.DistributedLock = await _lockProvider.AcquireAsync(slot.BackendKey, _lockTimeout, valueProduced: null, cancellationToken).ConfigureAwait(false);
                        }
                        catch (CacheBackendUnavailableException ex) when (_degrade)
                        {
                            // The key's gate is held: one creator per key in this process.
                            OnLockUnavailable(slot.Key, ex);
                        }
                    }
                }

                held.Add(slot);
            }

            if (held.Count == 0)
            {
                return;
            }

            // Dogpile: re-read under the locks; another caller may have created some values meanwhile.
            CacheEntry?[] reread = force
                ? new CacheEntry?[held.Count]
                : await ReadManyAsync(held.Select(s => s.Key).ToArray(), held.Select(s => s.BackendKey).ToArray(), cancellationToken).ConfigureAwait(false);
            long now = _clock.CoarseUtcTicks;
            var toCreate = new List<MultiSlot<T>>(held.Count);
            for (int i = 0; i < held.Count; i++)
            {
                Lookup<T> lookup = Classify<T>(held[i].Key, reread[i], now);
                if (lookup.IsFresh && !force)
                {
                    held[i].Done(lookup.Value);
                }
                else
                {
                    toCreate.Add(held[i]);
                }
            }

            if (toCreate.Count > 0)
            {
                await RunManyCreatorAsync(toCreate, creator, options, lifetime, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            for (int i = held.Count - 1; i >= 0; i--)
            {
                await held[i].ReleaseAsync(this).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask RunManyCreatorAsync<T>(
        List<MultiSlot<T>> toCreate,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>> creator,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        CancellationToken cancellationToken)
    {
        // Locks were taken in backend-key order (mangled keys sort differently); the creator gets the caller's keys in
        // the ordinal order the API promises.
        toCreate.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        string[] keys = toCreate.Select(s => s.Key).ToArray();
        long started = _time.GetTimestamp();
        IReadOnlyList<T> values;
        try
        {
            values = await creator(keys, cancellationToken).ConfigureAwait(false);
            if (values is null || values.Count != keys.Length)
            {
                throw new InvalidOperationException(
                    $"The multi-key creator was asked for {keys.Length} values and returned {values?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}; it must return one value per key, in order.");
            }
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            _counters.CreationFailed();
            Log.CreatorFailed(_logger, ex, Name, string.Join(",", keys));
            foreach (MultiSlot<T> slot in toCreate)
            {
                RecordFailure(slot.BackendKey);
            }

            // Stale-if-error, all or nothing: the call succeeds only if every failed key has a value to fall back on.
            if (toCreate.TrueForAll(s => s.Lookup.HasValue))
            {
                foreach (MultiSlot<T> slot in toCreate)
                {
                    _counters.StaleServed();
                    slot.Done(slot.Lookup.Value);
                }

                return;
            }

            throw;
        }

        TimeSpan duration = _time.GetElapsedTime(started);
        long created = _marks.StampCreated();
        TimeSpan? ttl = TimeToLive(lifetime);
        _counters.Created(keys.Length);
        var plainWrites = new List<CacheWrite>(keys.Length);
        var plainKeys = new List<string>(keys.Length);
        for (int i = 0; i < toCreate.Count; i++)
        {
            MultiSlot<T> slot = toCreate[i];
            T value = values[i];
            slot.Done(value);
            _failures.Succeeded(slot.BackendKey);
            if (options?.ShouldCache is { } shouldCache && !shouldCache(value))
            {
                continue;
            }

            CacheEntry entry = MakeEntry(value, created, lifetime, duration, options?.TagArray);
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

    /// <summary>One key's fenced write and release; a failed write loses the caching, never the created value.</summary>
    private async ValueTask WriteFencedAsync<T>(IFencedCacheBackend fenced, MultiSlot<T> slot, CacheEntry entry, TimeSpan? ttl, ICacheLock distributedLock)
    {
        slot.DistributedReleased = true;
        try
        {
            if (!await fenced.SetAndReleaseAsync(slot.BackendKey, entry, ttl, distributedLock, CancellationToken.None).ConfigureAwait(false))
            {
                Log.WriteSuperseded(_logger, Name, slot.Key);
            }

            AfterWrite(slot.Key, slot.BackendKey, null);
            ForgetLocal(slot.Key);
        }
        catch (CacheValueTooLargeException ex)
        {
            slot.DistributedReleased = false;
            HoldUnstorable(slot.Key, slot.BackendKey, entry, ex);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            slot.DistributedReleased = false;
            OnBackendWriteFailed(BackendOperation.Write, slot.Key, ex);
            HoldCreatedDuringOutage(slot.Key, entry);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            slot.DistributedReleased = false;
            AfterWrite(slot.Key, slot.BackendKey, null);
            Log.BackendWriteFailed(_logger, ex, Name, slot.Key);
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
            AfterWrites(keys, writes.ConvertAll(w => w.Key));
        }
    }

    private async ValueTask WritePlainCoreAsync(List<CacheWrite> writes, List<string> keys)
    {
        try
        {
            await _backend.SetManyAsync(writes, CancellationToken.None).ConfigureAwait(false);
            foreach (string key in keys)
            {
                ForgetLocal(key);
            }

            return;
        }
        catch (CacheValueTooLargeException) when (writes.Count > 1)
        {
        }
        catch (CacheValueTooLargeException ex)
        {
            HoldUnstorable(keys[0], writes[0].Key, writes[0].Entry, ex);
            return;
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            // One failure for the batch, logged and counted once; every value is held here.
            OnBackendWriteFailed(BackendOperation.Write, string.Join(",", keys), ex);
            for (int i = 0; i < writes.Count; i++)
            {
                HoldCreatedDuringOutage(keys[i], writes[i].Entry);
            }

            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.BackendWriteFailed(_logger, ex, Name, string.Join(",", keys));
            return;
        }

        for (int i = 0; i < writes.Count; i++)
        {
            try
            {
                await _backend.SetAsync(writes[i].Key, writes[i].Entry, writes[i].TimeToLive, CancellationToken.None).ConfigureAwait(false);
                ForgetLocal(keys[i]);
            }
            catch (CacheValueTooLargeException ex)
            {
                HoldUnstorable(keys[i], writes[i].Key, writes[i].Entry, ex);
            }
            catch (CacheBackendUnavailableException ex) when (_degrade)
            {
                OnBackendWriteFailed(BackendOperation.Write, keys[i], ex);
                HoldCreatedDuringOutage(keys[i], writes[i].Entry);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.BackendWriteFailed(_logger, ex, Name, keys[i]);
            }
        }
    }

    private async ValueTask<KeyedGates.GateLease> AcquireGateAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return await _gates.AcquireAsync(backendKey, _lockTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!cancellationToken.IsCancellationRequested)
        {
            _counters.LockTimedOut();
            throw new CacheLockTimeoutException(key, _lockTimeout);
        }
    }

    /// <summary>A single-key view of a multi-key creator, for refreshes of one key.</summary>
    private static Call<Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>>, T> SingleKeyCall<T>(
        MultiSlot<T> slot,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>> creator,
        CacheEntryOptions? options,
        EntryLifetime lifetime,
        ManyFunction? function)
    {
        string key = slot.Key;
        return new(
            key,
            slot.BackendKey,
            creator,
            async (create, ct) =>
            {
                IReadOnlyList<T> values = await create([key], ct).ConfigureAwait(false);
                return values is { Count: 1 }
                    ? values[0]
                    : throw new InvalidOperationException($"The multi-key creator was asked for 1 value and returned {values?.Count ?? 0}.");
            },
            options,
            lifetime,
            function?.Function,
            function?.ArgumentOf(key));
    }

    /// <summary>The registered function behind a multi-key creator, and how to find the argument of one of its keys.</summary>
    private sealed record ManyFunction(IRegisteredFunction Function, Func<string, object?> ArgumentOf);

    /// <summary>Awaits a multi-key write or removal, then drops its keys from the near cache, whatever the outcome.</summary>
    private async ValueTask EvictNearAfterAsync(ValueTask write, IReadOnlyList<string> keys, IReadOnlyList<string> backendKeys)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            AfterWrites(keys, backendKeys);
        }
    }

    private string[] ToBackendKeys(IReadOnlyList<string> keys)
    {
        var backendKeys = new string[keys.Count];
        for (int i = 0; i < backendKeys.Length; i++)
        {
            backendKeys[i] = ToBackendKey(keys[i]);
        }

        return backendKeys;
    }

    private async ValueTask<CacheEntry?[]> ReadManyAsync(IReadOnlyList<string> keys, string[] backendKeys, CancellationToken cancellationToken, bool throughNear = false)
    {
        if (backendKeys.Length == 0)
        {
            return [];
        }

        if (throughNear && _near is not null)
        {
            return await ReadManyThroughNearAsync(keys, backendKeys, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await _backend.GetManyAsync(backendKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            CountUnreadable(string.Join(",", keys), ex);
            return new CacheEntry?[backendKeys.Length];
        }
        catch (Exception ex) when (_degrade && ex is CacheBackendUnavailableException)
        {
            // Every key what this process holds for it, or a miss; the failure counted (and logged) once for the batch.
            _ = OnBackendReadFailed(string.Join(",", keys), ex);
            var held = new CacheEntry?[backendKeys.Length];
            for (int i = 0; i < held.Length; i++)
            {
                held[i] = HeldDuringOutage(keys[i]);
            }

            return held;
        }
    }

    /// <summary>
    /// A first read of many keys with a near cache: a key whose near entry is trusted and fresh is answered from it, the
    /// rest are read from the backend in one batch and kept (unless a write or notice for the key came meanwhile). When
    /// the batch fails, each key gets what the near cache holds for it, as a single read would. Never used for the
    /// re-read under the locks: that one must see the backend.
    /// </summary>
    private async ValueTask<CacheEntry?[]> ReadManyThroughNearAsync(IReadOnlyList<string> keys, string[] backendKeys, CancellationToken cancellationToken)
    {
        NearCache near = _near!;
        var entries = new CacheEntry?[backendKeys.Length];
        var nearKeys = new string[backendKeys.Length];
        var stamps = new long[backendKeys.Length];
        var toRead = new List<int>(backendKeys.Length);
        long now = _clock.CoarseUtcTicks;
        for (int i = 0; i < backendKeys.Length; i++)
        {
            nearKeys[i] = NearKey(keys[i], backendKeys[i]);
            if (near.GetTrusted(nearKeys[i]) is { } held && IsServedAsHit(held, now))
            {
                entries[i] = held;
            }
            else
            {
                stamps[i] = near.StampOf(nearKeys[i]);
                toRead.Add(i);
            }
        }

        if (toRead.Count == 0)
        {
            return entries;
        }

        string[] readKeys = new string[toRead.Count];
        for (int j = 0; j < readKeys.Length; j++)
        {
            readKeys[j] = backendKeys[toRead[j]];
        }

        CacheEntry?[] read;
        try
        {
            read = await _backend.GetManyAsync(readKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            CountUnreadable(string.Join(",", keys), ex);
            return entries;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Like a failed single read: what the near cache holds answers; under Degrade, then what was created here.
            bool degrade = _degrade && ex is CacheBackendUnavailableException;
            if (degrade)
            {
                _ = OnBackendReadFailed(string.Join(",", keys), ex);
            }

            bool any = false;
            foreach (int i in toRead)
            {
                entries[i] = near.GetHeld(nearKeys[i]) ?? (degrade ? HeldDuringOutage(keys[i]) : null);
                any |= entries[i] is not null;
            }

            if (!degrade && !any)
            {
                throw;
            }

            Log.ServedFromNearCache(_logger, ex, Name, string.Join(",", keys));
            return entries;
        }

        for (int j = 0; j < read.Length; j++)
        {
            int i = toRead[j];
            entries[i] = read[j];
            if (read[j] is null || AdmitToNear(read[j]!))
            {
                near.Keep(nearKeys[i], read[j], stamps[i]);
            }
        }

        return entries;
    }

    private sealed class MultiSlot<T>(string key, string backendKey)
    {
        public string Key { get; } = key;

        public string BackendKey { get; } = backendKey;

        public Lookup<T> Lookup { get; set; }

        public T Value { get; private set; } = default!;

        public KeyedGates.GateLease? Gate { get; set; }

        public ICacheLock? DistributedLock { get; set; }

        public RefreshRequest? Request { get; set; }

        public bool DistributedReleased { get; set; }

        public void Done(T value) => Value = value;

        public async ValueTask ReleaseAsync(CacheRegion region)
        {
            if (Request is not null)
            {
                await Request.ReleaseAfterRunAsync(DistributedReleased).ConfigureAwait(false);
                return;
            }

            Gate?.Release();
            if (DistributedLock is not null && !DistributedReleased)
            {
                await region.ReleaseQuietlyAsync(DistributedLock, Key).ConfigureAwait(false);
            }
        }
    }
}
