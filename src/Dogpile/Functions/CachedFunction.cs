namespace Dogpile;

/// <summary>
/// An async function whose results are cached in a region, keyed by its name and arguments: the C# form of
/// dogpile's <c>cache_on_arguments</c>. Create one with <see cref="CacheRegion.CreateFunction{TArg, T}"/>.
/// </summary>
/// <remarks>
/// <para>Keys are <c>"{name}:{arguments}"</c>, where the arguments are written by <see cref="FunctionKeys.Format{TArg}"/>
/// unless a key builder was given: strings as they are (with <c>\</c> and <c>|</c> escaped), numbers, dates, GUIDs
/// and enums in invariant form, tuples element by element joined with <c>|</c>, <see langword="null"/> as
/// <c>\0</c>, and any other type as its JSON. For example <c>bugs(("kernel", 2))</c> is cached under
/// <c>bugs:kernel|2</c>.</para>
/// <para>The function is registered with the region by name, so a refresh of one of its keys can be run by a
/// worker in another process from the serialized arguments (see <see cref="CacheRegion.RunRegisteredRefreshAsync"/>).
/// The function must therefore be safe to run twice for the same arguments.</para>
/// </remarks>
/// <typeparam name="TArg">The argument type; use a tuple for several arguments. It must round-trip through the region's serializer.</typeparam>
/// <typeparam name="T">The result type.</typeparam>
public sealed class CachedFunction<TArg, T> : IRegisteredFunction
{
    private readonly CacheRegion _region;
    private readonly Func<TArg, string>? _keyBuilder;
    private readonly CacheEntryOptions? _options;

    internal CachedFunction(CacheRegion region, string name, Func<TArg, CancellationToken, ValueTask<T>> function, Func<TArg, string>? keyBuilder, CacheEntryOptions? options)
    {
        _region = region;
        Name = name;
        Function = function;
        _keyBuilder = keyBuilder;
        _options = options;
    }

    /// <summary>The function's registered name, the first part of its keys.</summary>
    public string Name { get; }

    /// <summary>The original, uncached function.</summary>
    public Func<TArg, CancellationToken, ValueTask<T>> Function { get; }

    /// <summary>The cache key for the given arguments.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <returns>The key.</returns>
    public string KeyFor(TArg arguments)
        => string.Concat(Name, ":", _keyBuilder is null ? FunctionKeys.Format(arguments, _region.Serializer) : _keyBuilder(arguments));

    /// <summary>Returns the cached result, calling the function under the region's lock rules when needed.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The result.</returns>
    public ValueTask<T> InvokeAsync(TArg arguments, CancellationToken cancellationToken = default)
        => _region.GetOrCreateRegisteredAsync(this, KeyFor(arguments), arguments, _options, cancellationToken);

    /// <summary>Like <see cref="InvokeAsync"/>, with the result's metadata and how it was served.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The result with its metadata.</returns>
    public ValueTask<CacheItem<T>> InvokeItemAsync(TArg arguments, CancellationToken cancellationToken = default)
        => _region.GetOrCreateRegisteredItemAsync(this, KeyFor(arguments), arguments, _options, cancellationToken);

    /// <summary>Reads the cached result without calling the function.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A hit with the fresh result, or a miss.</returns>
    public ValueTask<CacheResult<T>> GetAsync(TArg arguments, CancellationToken cancellationToken = default)
        => _region.GetAsync<T>(KeyFor(arguments), cancellationToken);

    /// <summary>Stores a result for the given arguments, as if the function had returned it now.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="value">The result.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the result is stored.</returns>
    public ValueTask SetAsync(TArg arguments, T value, CancellationToken cancellationToken = default)
        => _region.SetAsync(KeyFor(arguments), value, _options, cancellationToken);

    /// <summary>Removes the cached result for the given arguments; the next call runs the function.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when a result was removed.</returns>
    public ValueTask<bool> InvalidateAsync(TArg arguments, CancellationToken cancellationToken = default)
        => _region.RemoveAsync(KeyFor(arguments), cancellationToken);

    /// <summary>Runs the function now (under the key's lock) and stores its result, whatever is cached.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="cancellationToken">Cancels the refresh.</param>
    /// <returns>The new result.</returns>
    public ValueTask<T> RefreshAsync(TArg arguments, CancellationToken cancellationToken = default)
        => _region.RefreshRegisteredAsync(this, KeyFor(arguments), arguments, _options, cancellationToken);

    ReadOnlyMemory<byte> IRegisteredFunction.SerializeArguments(object? arguments)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        _region.Serializer.Serialize((TArg)arguments!, buffer);
        return buffer.WrittenMemory;
    }

    RegisteredRefresh IRegisteredFunction.PrepareRefresh(ReadOnlyMemory<byte> serializedArguments)
    {
        TArg arguments;
        try
        {
            arguments = _region.Serializer.Deserialize<TArg>(new System.Buffers.ReadOnlySequence<byte>(serializedArguments));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A custom serializer may throw anything for bytes it cannot read: to the worker they are all unreadable arguments.
            throw new CacheSerializationException($"The arguments of a refresh job for function '{Name}' are not a valid {typeof(TArg).Name}: {ex.Message}", ex);
        }

        string key = KeyFor(arguments);

        // Throws for a key over the backend's limit, before anyone takes a lock on it.
        string backendKey = _region.ToBackendKey(key);
        return new RegisteredRefresh(Name, key, backendKey, (heldLock, cancellationToken) => _region.RefreshForJobAsync(this, key, backendKey, arguments, _options, heldLock, cancellationToken));
    }
}

/// <summary>A cached function as the region's registry sees it: runnable from serialized arguments.</summary>
internal interface IRegisteredFunction
{
    string Name { get; }

    ReadOnlyMemory<byte> SerializeArguments(object? arguments);

    /// <summary>Decodes a job's arguments and derives its key; throws <see cref="CacheSerializationException"/> for unreadable arguments, <see cref="ArgumentException"/> for an invalid key.</summary>
    RegisteredRefresh PrepareRefresh(ReadOnlyMemory<byte> serializedArguments);
}
