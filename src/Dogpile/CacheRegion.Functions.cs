using System.Diagnostics.CodeAnalysis;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// Cached functions: the registry of named functions, and the entry point a worker process uses to run a
// refresh job from serialized arguments.
public sealed partial class CacheRegion
{
    /// <summary>
    /// Wraps <paramref name="function"/> as a cached function registered under <paramref name="name"/>
    /// (dogpile's <c>cache_on_arguments</c>). See <see cref="CachedFunction{TArg, T}"/> for how keys are built.
    /// </summary>
    /// <typeparam name="TArg">The argument type; a tuple for several arguments.</typeparam>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="name">The function's name: unique in the region, and the same in every process that refreshes it.</param>
    /// <param name="function">The function.</param>
    /// <param name="keyBuilder">Writes the arguments into the key; the default is <see cref="FunctionKeys.Format{TArg}"/>.</param>
    /// <param name="options">Per-call options for every call of the function.</param>
    /// <returns>The cached function.</returns>
    /// <exception cref="ArgumentException">The name is empty, contains ':' or is already registered.</exception>
    public CachedFunction<TArg, T> CreateFunction<TArg, T>(
        string name,
        Func<TArg, CancellationToken, ValueTask<T>> function,
        Func<TArg, string>? keyBuilder = null,
        CacheEntryOptions? options = null)
    {
        FunctionRegistry.CheckName(name);
        ArgumentNullException.ThrowIfNull(function);
        _ = _context.ResolveLifetime(options);
        var cached = new CachedFunction<TArg, T>(this, name, function, keyBuilder, options);
        _functions.Add(name, cached);
        return cached;
    }

    /// <summary>
    /// Wraps <paramref name="function"/>, which takes many arguments at once, as a cached function registered under
    /// <paramref name="name"/> (dogpile's <c>cache_multi_on_arguments</c>): results are cached one per argument, and a
    /// call runs the function once with only the arguments that need a result. See <see cref="CachedManyFunction{TArg, T}"/>.
    /// </summary>
    /// <typeparam name="TArg">The type of one argument.</typeparam>
    /// <typeparam name="T">The type of one result.</typeparam>
    /// <param name="name">The function's name: unique in the region, and the same in every process that refreshes it.</param>
    /// <param name="function">Receives the arguments that need results and returns one result per argument, in order.</param>
    /// <param name="keyBuilder">Writes one argument into its key; the default is <see cref="FunctionKeys.Format{TArg}"/>.</param>
    /// <param name="options">Per-call options for every call of the function.</param>
    /// <returns>The cached function.</returns>
    /// <exception cref="ArgumentException">The name is empty, contains ':' or is already registered.</exception>
    public CachedManyFunction<TArg, T> CreateManyFunction<TArg, T>(
        string name,
        Func<IReadOnlyList<TArg>, CancellationToken, ValueTask<IReadOnlyList<T>>> function,
        Func<TArg, string>? keyBuilder = null,
        CacheEntryOptions? options = null)
    {
        FunctionRegistry.CheckName(name);
        ArgumentNullException.ThrowIfNull(function);
        _ = _context.ResolveLifetime(options);
        var cached = new CachedManyFunction<TArg, T>(this, name, function, keyBuilder, options);
        _functions.Add(name, cached);
        return cached;
    }

    /// <summary>Whether a cached function with this name is registered.</summary>
    /// <param name="name">The name.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool IsFunctionRegistered(string name) => _functions.Contains(name);

    /// <summary>
    /// Reads a refresh job for a registered function without running it: finds the function, deserializes the
    /// arguments with the region's serializer and derives the key they are cached under, checked against the
    /// backend's key limit. A queue worker calls this before it takes any lock, so a job that can never run is
    /// rejected with its reason instead of holding a lock.
    /// </summary>
    /// <param name="functionName">The registered name.</param>
    /// <param name="serializedArguments">The arguments, as <see cref="RefreshRequest.SerializeArguments"/> wrote them.</param>
    /// <param name="refresh">The job, ready to run under the lock of its <see cref="RegisteredRefresh.BackendKey"/>.</param>
    /// <param name="problem">Why the job cannot run: an unknown function, unreadable arguments or an invalid key.</param>
    /// <returns><see langword="true"/> when the job can run.</returns>
    public bool TryPrepareRegisteredRefresh(
        string functionName,
        ReadOnlyMemory<byte> serializedArguments,
        [NotNullWhen(true)] out RegisteredRefresh? refresh,
        [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(functionName);
        refresh = null;
        if (!_functions.TryGet(functionName, out IRegisteredFunction? function))
        {
            problem = $"unknown function '{functionName}': no cached function of that name is registered in region '{Name}'";
            return false;
        }

        try
        {
            refresh = function.PrepareRefresh(serializedArguments);
            problem = null;
            return true;
        }
        catch (CacheSerializationException ex)
        {
            problem = $"unreadable arguments: {ex.Message}";
        }
        catch (ArgumentException ex)
        {
            problem = $"invalid key: {ex.Message}";
        }
#pragma warning disable CA1031 // A key builder is the application's code: whatever it throws makes the job's key unusable.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            problem = $"invalid key: the key builder of '{functionName}' failed: {ex.GetType().Name}: {ex.Message}";
        }

        return false;
    }

    /// <summary>
    /// Runs a refresh job for a registered function, as a worker does for a job taken from a durable queue:
    /// deserializes the arguments, skips the job if the key is fresh, otherwise runs the function, stores the
    /// value (fenced by <paramref name="heldLock"/> when the backend can) and releases <paramref name="heldLock"/>
    /// exactly once, whatever happens.
    /// </summary>
    /// <param name="functionName">The registered name.</param>
    /// <param name="serializedArguments">The arguments, as <see cref="RefreshRequest.SerializeArguments"/> wrote them.</param>
    /// <param name="heldLock">The distributed lock the job carries, if any: it must guard the key the arguments give.</param>
    /// <param name="cancellationToken">Cancels the refresh.</param>
    /// <returns>How the refresh ended.</returns>
    /// <exception cref="CacheFunctionNotFoundException">No function of that name is registered.</exception>
    /// <exception cref="CacheSerializationException">The arguments cannot be read.</exception>
    /// <exception cref="ArgumentException">The key the arguments give is invalid (over the backend's limit, say), or <paramref name="heldLock"/> guards another key.</exception>
    /// <remarks>
    /// A failing function throws here (after the lock is released), so the caller can retry or dead-letter the job.
    /// A worker that must not take a lock for a job that cannot run uses <see cref="TryPrepareRegisteredRefresh"/> first.
    /// </remarks>
    public async ValueTask<RefreshOutcome> RunRegisteredRefreshAsync(
        string functionName,
        ReadOnlyMemory<byte> serializedArguments,
        ICacheLock? heldLock,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(functionName);
        RegisteredRefresh refresh;
        try
        {
            if (!_functions.TryGet(functionName, out IRegisteredFunction? function))
            {
                throw new CacheFunctionNotFoundException(functionName, Name);
            }

            refresh = function.PrepareRefresh(serializedArguments);
        }
        catch (Exception) when (heldLock is not null)
        {
            await _context.ReleaseQuietlyAsync(heldLock, functionName).ConfigureAwait(false);
            throw;
        }

        return await refresh.RunAsync(heldLock, cancellationToken).ConfigureAwait(false);
    }

    internal ValueTask<T> GetOrCreateRegisteredAsync<TArg, T>(CachedFunction<TArg, T> function, string key, TArg arguments, CacheEntryOptions? options, CancellationToken cancellationToken)
        => _path.GetOrCreateCoreAsync(key, ToBackendKey(key), arguments, function.Function, options, function, cancellationToken);

    internal ValueTask<CacheItem<T>> GetOrCreateRegisteredItemAsync<TArg, T>(CachedFunction<TArg, T> function, string key, TArg arguments, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        string backendKey = ToBackendKey(key);
        return _path.GetOrCreateSlowAsync(FunctionCall(function, key, backendKey, arguments, options), null, false, _reader.StartRead(key, backendKey, cancellationToken), cancellationToken);
    }

    internal async ValueTask<T> RefreshRegisteredAsync<TArg, T>(CachedFunction<TArg, T> function, string key, TArg arguments, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        Call<TArg, T> call = FunctionCall(function, key, ToBackendKey(key), arguments, options);
        FlightResult result = await _flights.CreateUnderLockAsync(call, reread: false, cancellationToken).ConfigureAwait(false);
        return (T)result.Value!;
    }

    internal async ValueTask<RefreshOutcome> RefreshForJobAsync<TArg, T>(
        CachedFunction<TArg, T> function,
        string key,
        string backendKey,
        TArg arguments,
        CacheEntryOptions? options,
        ICacheLock? heldLock,
        CancellationToken cancellationToken)
    {
        if (heldLock is not null && !string.Equals(heldLock.Key, backendKey, StringComparison.Ordinal))
        {
            // A fenced write under another key's lock would compare against that key's fence and leave this lock held.
            await _context.ReleaseQuietlyAsync(heldLock, key).ConfigureAwait(false);
            throw new ArgumentException($"The lock guards '{Throw.Truncate(heldLock.Key)}', not the job's key '{Throw.Truncate(backendKey)}'.", nameof(heldLock));
        }

        return await _refresh.RunJobAsync(FunctionCall(function, key, backendKey, arguments, options), heldLock, cancellationToken).ConfigureAwait(false);
    }

    private Call<TArg, T> FunctionCall<TArg, T>(CachedFunction<TArg, T> function, string key, string backendKey, TArg arguments, CacheEntryOptions? options)
        => _context.NewCall(key, backendKey, arguments, function.Function, options, function, arguments);
}
