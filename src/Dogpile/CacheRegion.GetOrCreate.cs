using System.Runtime.CompilerServices;
using Dogpile.Engine;

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
            _ = _context.ResolveLifetime(options);
        }

        return _path.GetOrCreateCoreAsync(key, backendKey, state, creator, options, null, cancellationToken);
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
        => _path.GetOrCreateItemAsync(key, ToBackendKey(key), state, creator, options, cancellationToken);
}
