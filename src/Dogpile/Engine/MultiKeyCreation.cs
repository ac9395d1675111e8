using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Dogpile's get_or_create_multi: one creator call for all the keys that need a value, with the per-key locks taken in
/// sorted order so two callers can never deadlock; stale keys follow the single-key rules (one regenerator, the others
/// get the stale value).
/// </summary>
internal sealed class MultiKeyCreation(RegionContext context, EntryClassifier classifier, EntryReader reader, EntryStore store, HeldValues held, RefreshElection refresh)
{
    private readonly RegionContext _context = context;
    private readonly EntryClassifier _classifier = classifier;
    private readonly EntryReader _reader = reader;
    private readonly EntryStore _store = store;
    private readonly HeldValues _held = held;
    private readonly RefreshElection _refresh = refresh;

    // function: the registered function behind the creator, so a single key's refresh can leave the process.
    // force: regenerate every key under its lock whatever is cached (a cached function's refresh).
    public async ValueTask<T[]> GetOrCreateManyAsync<T>(
        IReadOnlyList<string> keys,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T>>> creator,
        CacheEntryOptions? options,
        ManyFunction? function,
        bool force,
        CancellationToken cancellationToken)
    {
        _context.ThrowIfDisposed();
        EntryLifetime lifetime = _context.ResolveLifetime(options);

        // Distinct keys, each with its backend key; results are filled per distinct key.
        var slots = new Dictionary<string, MultiSlot<T>>(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            if (!slots.ContainsKey(key ?? throw new ArgumentNullException(nameof(keys), "A cache key must not be null.")))
            {
                slots.Add(key, new MultiSlot<T>(key, _context.Keys.ToBackendKey(key)));
            }
        }

        MultiSlot<T>[] distinct = [.. slots.Values];
        CacheEntry?[] entries = force
            ? new CacheEntry?[distinct.Length]
            : await _reader.ReadManyAsync(distinct.Select(s => s.Key).ToArray(), distinct.Select(s => s.BackendKey).ToArray(), cancellationToken, throughNear: true).ConfigureAwait(false);

        long now = _context.Clock.CoarseUtcTicks;
        var needed = new List<MultiSlot<T>>();
        for (int i = 0; i < distinct.Length; i++)
        {
            MultiSlot<T> slot = distinct[i];
            Lookup<T> lookup = force ? Lookup<T>.Missing : _classifier.Classify<T>(slot.Key, entries[i], now);
            slot.Lookup = lookup;
            switch (_classifier.Decide(lookup.State, slot.BackendKey, now))
            {
                case ReadAction.Serve:
                    _context.CountHit();
                    slot.Done(lookup.Value);
                    break;
                case ReadAction.ServeAndRefreshEarly:
                    _context.CountHit();
                    slot.Done(lookup.Value);
                    _refresh.StartEarlyRefresh(SingleKeyCall(slot, creator, options, lifetime, function));
                    break;
                case ReadAction.ServeStale:
                    _context.Counters.StaleServed();
                    slot.Done(lookup.Value);
                    break;
                case ReadAction.ServeStaleAndRefresh:
                    _context.Counters.StaleServed();
                    slot.Done(lookup.Value);
                    RefreshRequest? request = await _refresh.TryElectAsync(SingleKeyCall(slot, creator, options, lifetime, function), _classifier.ReasonFor(lookup.Entry!), cancellationToken).ConfigureAwait(false);
                    if (request is not null)
                    {
                        await _refresh.ScheduleAsync(request).ConfigureAwait(false);
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
                    RefreshRequest? elected = await _refresh.TryElectAsync(SingleKeyCall(slot, creator, options, lifetime, function), _classifier.ReasonFor(slot.Lookup.Entry!), cancellationToken).ConfigureAwait(false);
                    if (elected is null)
                    {
                        _context.Counters.StaleServed();
                        slot.Done(slot.Lookup.Value);
                        continue;
                    }

                    slot.Request = elected;
                }
                else
                {
                    _context.Counters.Miss();
                    slot.Gate = await _context.AcquireGateAsync(slot.Key, slot.BackendKey, cancellationToken).ConfigureAwait(false);
                    if (_context.LockProvider is { } lockProvider)
                    {
                        try
                        {
                            slot.DistributedLock = await lockProvider.AcquireAsync(slot.BackendKey, _context.LockTimeout, valueProduced: null, cancellationToken).ConfigureAwait(false);
                        }
                        catch (CacheBackendUnavailableException ex) when (_context.Degrade)
                        {
                            // The key's gate is held: one creator per key in this process.
                            _held.OnLockUnavailable(slot.Key, ex);
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
                : await _reader.ReadManyAsync(held.Select(s => s.Key).ToArray(), held.Select(s => s.BackendKey).ToArray(), cancellationToken).ConfigureAwait(false);
            long now = _context.Clock.CoarseUtcTicks;
            var toCreate = new List<MultiSlot<T>>(held.Count);
            for (int i = 0; i < held.Count; i++)
            {
                Lookup<T> lookup = _classifier.Classify<T>(held[i].Key, reread[i], now);
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
                await held[i].ReleaseAsync(_context).ConfigureAwait(false);
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
        long started = _context.Clock.PreciseUtcTicks;
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
            _context.Counters.CreationFailed();
            Log.CreatorFailed(_context.Logger, ex, _context.Name, string.Join(",", keys));
            foreach (MultiSlot<T> slot in toCreate)
            {
                _context.RecordFailure(slot.BackendKey);
            }

            // Stale-if-error, all or nothing: the call succeeds only if every failed key has a value to fall back on.
            if (toCreate.TrueForAll(s => s.Lookup.HasValue))
            {
                foreach (MultiSlot<T> slot in toCreate)
                {
                    _context.Counters.StaleServed();
                    slot.Done(slot.Lookup.Value);
                }

                return;
            }

            throw;
        }

        for (int i = 0; i < toCreate.Count; i++)
        {
            toCreate[i].Done(values[i]);
        }

        await _store.StoreCreatedManyAsync(toCreate, values, options, lifetime, started).ConfigureAwait(false);
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
}
