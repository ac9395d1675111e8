using Dogpile.Engine;

namespace Dogpile;

// Multi-key operations. GetOrCreateManyAsync is dogpile's get_or_create_multi (Engine/MultiKeyCreation.cs): one creator
// call for all the keys that need a value, with the per-key locks taken in sorted order so two callers can never deadlock.
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
        CacheEntry?[] entries = await _reader.ReadManyAsync(keys, backendKeys, cancellationToken, throughNear: true).ConfigureAwait(false);
        long now = _clock.CoarseUtcTicks;
        var results = new CacheResult<T>[keys.Count];
        for (int i = 0; i < results.Length; i++)
        {
            Lookup<T> lookup = _classifier.Classify<T>(keys[i], entries[i], now);
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
        return _store.SetManyAsync(items, options, cancellationToken);
    }

    /// <summary>Removes many values.</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns>A task that completes when the values are gone.</returns>
    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return keys.Count == 0 ? ValueTask.CompletedTask : _store.RemoveManyAsync(keys, ToBackendKeys(keys), cancellationToken);
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
        return _multi.GetOrCreateManyAsync(keys, creator, options, function: null, force: false, cancellationToken);
    }

    /// <summary>A many-argument cached function's call: its keys, with the argument behind each for single-key refreshes.</summary>
    internal ValueTask<T[]> GetOrCreateManyRegisteredAsync<TArg, T>(
        CachedManyFunction<TArg, T> function,
        string[] keys,
        Dictionary<string, TArg> byKey,
        CacheEntryOptions? options,
        bool force,
        CancellationToken cancellationToken)
        => _multi.GetOrCreateManyAsync<T>(
            keys,
            (missing, ct) => function.Function(missing.Select(k => byKey[k]).ToArray(), ct),
            options,
            new ManyFunction(function, key => byKey[key]),
            force,
            cancellationToken);

    private string[] ToBackendKeys(IReadOnlyList<string> keys)
    {
        var backendKeys = new string[keys.Count];
        for (int i = 0; i < backendKeys.Length; i++)
        {
            backendKeys[i] = ToBackendKey(keys[i]);
        }

        return backendKeys;
    }
}
