namespace Dogpile;

/// <summary>
/// Where a region keeps its entries. Implementations are shared by any number of concurrent callers and
/// must be thread-safe. A backend knows nothing about locks or freshness: it stores and returns
/// <see cref="CacheEntry"/> objects, and drops them after the time to live it is given.
/// </summary>
/// <remarks>
/// The abstract conformance suite in the test project (<c>CacheBackendConformanceTests</c>) states the
/// contract by example; every backend subclasses it.
/// </remarks>
public interface ICacheBackend
{
    /// <summary>
    /// <see langword="true"/> when the backend keeps live objects (no serialization, values are shared
    /// by reference); <see langword="false"/> when it keeps bytes and the region serializes.
    /// </summary>
    bool StoresObjects { get; }

    /// <summary>The longest key the backend accepts, in UTF-8 bytes, after prefixing and mangling.</summary>
    int MaxKeyLength { get; }

    /// <summary>
    /// A mangler the region applies when the user configured none, or <see langword="null"/>. Backends with
    /// key rules of their own (memcached: no spaces, at most 250 bytes) use it to hash keys that break them.
    /// The region applies it to the whole backend key, after <see cref="CacheRegionOptions.KeyPrefix"/>, so what it
    /// returns is exactly what the backend receives and must fit <see cref="MaxKeyLength"/>.
    /// </summary>
    Func<string, string>? DefaultKeyMangler => null;

    /// <summary>
    /// The backend's own <see cref="CacheBackendFailurePolicy"/>, used by regions that set none
    /// (<see cref="CacheRegionOptions.BackendFailurePolicy"/> wins when set); <see langword="null"/> for the default,
    /// <see cref="CacheBackendFailurePolicy.Degrade"/>.
    /// </summary>
    CacheBackendFailurePolicy? FailurePolicy => null;

    /// <summary>Reads one entry.</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entry, or <see langword="null"/> when there is none.</returns>
    /// <exception cref="CacheSerializationException">The stored bytes are not a valid entry; the region treats this as a miss.</exception>
    ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Reads many entries, in one round trip where the store allows it.</summary>
    /// <param name="keys">The backend keys.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One element per key, in the same order; <see langword="null"/> where there is no readable entry.</returns>
    ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>Writes one entry, replacing any previous one.</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="entry">The entry.</param>
    /// <param name="timeToLive">How long the backend keeps it; <see langword="null"/> keeps it until evicted.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the entry is stored.</returns>
    /// <exception cref="CacheValueTooLargeException">The value exceeds the backend's size limit; nothing was written.</exception>
    ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken);

    /// <summary>Writes many entries.</summary>
    /// <param name="entries">The entries with their keys and times to live.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when all entries are stored.</returns>
    ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken);

    /// <summary>Removes one entry.</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when an entry was removed.</returns>
    ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken);

    /// <summary>Removes many entries.</summary>
    /// <param name="keys">The backend keys.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns>A task that completes when the entries are gone.</returns>
    ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}
