namespace Dogpile;

/// <summary>
/// An async function over many arguments at once whose results are cached one per argument: the C# form of dogpile's
/// <c>cache_multi_on_arguments</c>. Create one with <see cref="CacheRegion.CreateManyFunction{TArg, T}"/>.
/// </summary>
/// <remarks>
/// <para><see cref="InvokeAsync"/> returns a result for every argument, calling the function <b>once</b> with only the
/// arguments that have no usable cached result (<see cref="CacheRegion.GetOrCreateManyAsync{T}"/>'s rules: one creator
/// per key, locks in sorted order, stale values served while one refresh runs). Keys are those of a single-argument
/// <see cref="CachedFunction{TArg, T}"/> of the same name, <c>"{name}:{argument}"</c>, so both can share cached results.</para>
/// <para>Registered with the region by name like a single-argument function: a background refresh of one stale key calls
/// the function with that one argument, in this process or in a worker reading the durable queue.</para>
/// </remarks>
/// <typeparam name="TArg">The type of one argument; it must round-trip through the region's serializer.</typeparam>
/// <typeparam name="T">The type of one result.</typeparam>
public sealed class CachedManyFunction<TArg, T> : IRegisteredFunction
{
    private readonly CacheRegion _region;
    private readonly CacheEntryOptions? _options;

    // The one-argument view: the same name, keys and options, for refreshes of a single key and for its key builder.
    private readonly CachedFunction<TArg, T> _single;

    internal CachedManyFunction(
        CacheRegion region,
        string name,
        Func<IReadOnlyList<TArg>, CancellationToken, ValueTask<IReadOnlyList<T>>> function,
        Func<TArg, string>? keyBuilder,
        CacheEntryOptions? options)
    {
        _region = region;
        _options = options;
        Name = name;
        Function = function;
        _single = new CachedFunction<TArg, T>(region, name, (argument, cancellationToken) => CallForOneAsync(function, argument, cancellationToken), keyBuilder, options);
    }

    /// <summary>The function's registered name, the first part of its keys.</summary>
    public string Name { get; }

    /// <summary>The original, uncached function.</summary>
    public Func<IReadOnlyList<TArg>, CancellationToken, ValueTask<IReadOnlyList<T>>> Function { get; }

    /// <summary>The cache key of one argument.</summary>
    /// <param name="argument">The argument.</param>
    /// <returns>The key.</returns>
    public string KeyFor(TArg argument) => _single.KeyFor(argument);

    /// <summary>
    /// Returns one result per argument, in the order given, calling the function once with the arguments (distinct, in
    /// the ordinal order of their keys) that have no usable cached result.
    /// </summary>
    /// <param name="arguments">The arguments; duplicates are answered alike.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The results.</returns>
    /// <exception cref="InvalidOperationException">The function returned a different number of results than arguments.</exception>
    public ValueTask<T[]> InvokeAsync(IReadOnlyList<TArg> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        (string[] keys, Dictionary<string, TArg> byKey) = KeysOf(arguments);
        return _region.GetOrCreateManyRegisteredAsync(this, keys, byKey, _options, force: false, cancellationToken);
    }

    /// <summary>Reads the cached results without calling the function.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One result per argument: a hit with the fresh result, or a miss.</returns>
    public ValueTask<CacheResult<T>[]> GetAsync(IReadOnlyList<TArg> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return _region.GetManyAsync<T>(KeysOf(arguments).Keys, cancellationToken);
    }

    /// <summary>Stores a result for one argument, as if the function had returned it now.</summary>
    /// <param name="argument">The argument.</param>
    /// <param name="value">The result.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the result is stored.</returns>
    public ValueTask SetAsync(TArg argument, T value, CancellationToken cancellationToken = default)
        => _single.SetAsync(argument, value, cancellationToken);

    /// <summary>Removes the cached result of one argument; the next call runs the function for it.</summary>
    /// <param name="argument">The argument.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when a result was removed.</returns>
    public ValueTask<bool> InvalidateAsync(TArg argument, CancellationToken cancellationToken = default)
        => _single.InvalidateAsync(argument, cancellationToken);

    /// <summary>
    /// Runs the function now for these arguments (once, under their keys' locks) and stores the results, whatever is cached.
    /// </summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels the refresh.</param>
    /// <returns>The new results, one per argument.</returns>
    public ValueTask<T[]> RefreshAsync(IReadOnlyList<TArg> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        (string[] keys, Dictionary<string, TArg> byKey) = KeysOf(arguments);
        return _region.GetOrCreateManyRegisteredAsync(this, keys, byKey, _options, force: true, cancellationToken);
    }

    ReadOnlyMemory<byte> IRegisteredFunction.SerializeArguments(object? arguments)
        => ((IRegisteredFunction)_single).SerializeArguments(arguments);

    RegisteredRefresh IRegisteredFunction.PrepareRefresh(ReadOnlyMemory<byte> serializedArguments)
        => ((IRegisteredFunction)_single).PrepareRefresh(serializedArguments);

    private static async ValueTask<T> CallForOneAsync(
        Func<IReadOnlyList<TArg>, CancellationToken, ValueTask<IReadOnlyList<T>>> function,
        TArg argument,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<T> results = await function([argument], cancellationToken).ConfigureAwait(false);
        return results is { Count: 1 }
            ? results[0]
            : throw new InvalidOperationException($"The cached function was asked for 1 result and returned {results?.Count ?? 0}; it must return one result per argument, in order.");
    }

    private (string[] Keys, Dictionary<string, TArg> ByKey) KeysOf(IReadOnlyList<TArg> arguments)
    {
        var keys = new string[arguments.Count];
        var byKey = new Dictionary<string, TArg>(arguments.Count, StringComparer.Ordinal);
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = KeyFor(arguments[i]);
            byKey.TryAdd(keys[i], arguments[i]);
        }

        return (keys, byKey);
    }
}
