using System.Text;
using Microsoft.Extensions.Caching.Distributed;

namespace Dogpile;

/// <summary>
/// A <see cref="ICacheBackend"/> over any <see cref="IDistributedCache"/> (SQL Server, SQLite, Cosmos DB, Redis through
/// <c>Microsoft.Extensions.Caching.StackExchangeRedis</c>, ...), so such a store can be a region's shared level. Each
/// entry is stored as its <see cref="CacheEntry.ToBytes"/> envelope with an absolute expiration of the time to live the
/// region asks for.
/// </summary>
/// <remarks>
/// <para>What the store does not give: batches (a multi-key call is up to
/// <see cref="DistributedCacheBackendOptions.MaxConcurrentCalls"/> single-key calls at once), a "was it there" answer
/// to a removal (<see cref="RemoveAsync"/> reads before it removes), and a lock. With no
/// <see cref="CacheRegionOptions.LockProvider"/>, one creator runs per key <i>per process</i>, not per cluster: pair the
/// backend with a distributed lock (the Redis one, say) for one creator per key across processes; docs/distributed-cache.md.</para>
/// <para>An entry without a time to live is written without an expiration, so the store's own default applies (the SQL
/// Server cache's <c>DefaultSlidingExpiration</c> of 20 minutes, for one).</para>
/// </remarks>
public sealed class DistributedCacheBackend : ICacheBackend
{
    private static readonly DistributedCacheEntryOptions s_noExpiration = new();

    private readonly IDistributedCache _cache;
    private readonly int _maxValueBytes;
    private readonly int _parallelism;

    /// <summary>Creates the backend; it does not own <paramref name="cache"/>.</summary>
    /// <param name="cache">The store.</param>
    /// <param name="options">Its limits; <see langword="null"/> for the defaults. Validated here, and copied.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public DistributedCacheBackend(IDistributedCache cache, DistributedCacheBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        options ??= new DistributedCacheBackendOptions();
        options.Validate();
        _cache = cache;
        _maxValueBytes = options.MaxValueBytes;
        _parallelism = options.MaxConcurrentCalls;
        MaxKeyLength = options.MaxKeyLength;
        DefaultKeyMangler = HashIfLong;
    }

    /// <summary>Always <see langword="false"/>: the store keeps bytes, the region serializes.</summary>
    public bool StoresObjects => false;

    /// <summary><see cref="DistributedCacheBackendOptions.MaxKeyLength"/>.</summary>
    public int MaxKeyLength { get; }

    /// <summary>Keeps keys of at most <see cref="MaxKeyLength"/> UTF-8 bytes, and replaces longer ones by <c>sha256:</c> and their hash.</summary>
    public Func<string, string> DefaultKeyMangler { get; }

    /// <inheritdoc />
    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        byte[]? bytes = await _cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : CacheEntry.FromBytes(bytes);
    }

    /// <inheritdoc />
    public async ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var entries = new CacheEntry?[keys.Count];
        await ForEachAsync(keys.Count, async (i, ct) =>
        {
            byte[]? bytes = await _cache.GetAsync(keys[i], ct).ConfigureAwait(false);
            entries[i] = bytes is not null && CacheEntry.TryFromBytes(bytes, out CacheEntry? entry) ? entry : null;
        }, cancellationToken).ConfigureAwait(false);
        return entries;
    }

    /// <inheritdoc />
    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(entry);
        byte[] bytes = Encode(key, entry);
        return new ValueTask(timeToLive is { } ttl && ttl <= TimeSpan.Zero
            ? _cache.RemoveAsync(key, cancellationToken) // already past its time to live: a store would refuse the expiration
            : _cache.SetAsync(key, bytes, EntryOptions(timeToLive), cancellationToken));
    }

    /// <inheritdoc />
    public async ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);

        // Every entry is encoded (and checked against the size limit) before anything is written.
        var encoded = new byte[entries.Count][];
        for (int i = 0; i < entries.Count; i++)
        {
            encoded[i] = Encode(entries[i].Key, entries[i].Entry);
        }

        await ForEachAsync(entries.Count, (i, ct) => new ValueTask(entries[i].TimeToLive is { } ttl && ttl <= TimeSpan.Zero
            ? _cache.RemoveAsync(entries[i].Key, ct)
            : _cache.SetAsync(entries[i].Key, encoded[i], EntryOptions(entries[i].TimeToLive), ct)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes one entry; it reads the key first, since the store does not say whether anything was removed.</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when an entry was there (a concurrent writer may race the answer, never the removal).</returns>
    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        bool existed = await _cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is not null;
        await _cache.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        return existed;
    }

    /// <inheritdoc />
    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return ForEachAsync(keys.Count, (i, ct) => new ValueTask(_cache.RemoveAsync(keys[i], ct)), cancellationToken);
    }

    private static DistributedCacheEntryOptions EntryOptions(TimeSpan? timeToLive)
        => timeToLive is { } ttl && ttl != Timeout.InfiniteTimeSpan
            ? new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = ttl }
            : s_noExpiration;

    private byte[] Encode(string key, CacheEntry entry)
    {
        // The size is known from the payload: a too-large value is refused before its envelope is copied.
        int size = CacheEntry.HeaderSize + entry.Payload.Length;
        if (size > _maxValueBytes)
        {
            throw new CacheValueTooLargeException(key, size, _maxValueBytes);
        }

        return entry.ToBytes();
    }

    private string HashIfLong(string key)
        => Encoding.UTF8.GetByteCount(key) <= MaxKeyLength ? key : "sha256:" + KeyManglers.Sha256(key);

    // A multi-key call as single-key calls, at most _parallelism at once; one call needs no scheduling at all.
    private async ValueTask ForEachAsync(int count, Func<int, CancellationToken, ValueTask> body, CancellationToken cancellationToken)
    {
        if (count == 1)
        {
            await body(0, cancellationToken).ConfigureAwait(false);
        }
        else if (count > 1)
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _parallelism, CancellationToken = cancellationToken };
            await Parallel.ForAsync(0, count, parallel, body).ConfigureAwait(false);
        }
    }
}
