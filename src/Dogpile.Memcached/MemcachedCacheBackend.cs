using System.Runtime.CompilerServices;
using Dogpile.Memcached.Client;
using Microsoft.Extensions.Logging;

namespace Dogpile.Memcached;

/// <summary>
/// A <see cref="ICacheBackend"/> on one or more memcached servers: entries are stored as <see cref="CacheEntry.ToBytes"/>
/// envelopes, multi-key reads are pipelined in one batch per server, and every socket comes from a bounded pool, so
/// any number of concurrent callers never opens more than <see cref="MemcachedClientOptions.MaxConnectionsPerServer"/>
/// connections to a server.
/// </summary>
/// <remarks>
/// <para>Create one backend per process (a lock provider built from it shares its client)
/// and use it for every region; regions are kept apart by <see cref="CacheRegionOptions.KeyPrefix"/>.</para>
/// <para>TTLs: memcached keeps whole seconds on a clock that ticks once a second, so each entry is stored with its time
/// to live rounded up plus one second: it never disappears before the region's time to live, and at most 2 s after.</para>
/// <para>Keys: memcached accepts at most 250 bytes without spaces or control characters. <see cref="DefaultKeyMangler"/>
/// replaces any key that breaks those rules by its SHA-256, so a region works with any key.</para>
/// <para>A server that cannot be used (connect refused or timed out, request timed out, connection lost, or its circuit
/// breaker open) surfaces as <see cref="CacheBackendUnavailableException"/>, with the client's
/// <see cref="MemcachedConnectionException"/>, <see cref="MemcachedTimeoutException"/> or
/// <see cref="MemcachedServerUnavailableException"/> inside; a region serves around it under
/// <see cref="CacheBackendFailurePolicy.Degrade"/> (see <see cref="MemcachedCacheBackendOptions.FailurePolicy"/>).</para>
/// </remarks>
internal sealed class MemcachedCacheBackend : ICacheBackend, IDisposable
{
    private readonly MemcachedClient _client;
    private readonly bool _ownsClient;
    private readonly string? _prefix;
    private readonly int _maxItemSize;

    /// <summary>Creates a backend with a client of its own, which it disposes.</summary>
    /// <param name="clientOptions">The servers and pool settings; validated here.</param>
    /// <param name="options">Backend settings; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock for TTLs and dead-server delays; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the client logs; nowhere by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public MemcachedCacheBackend(
        MemcachedClientOptions clientOptions,
        MemcachedCacheBackendOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
        : this(CreateClient(clientOptions, timeProvider, loggerFactory), options, ownsClient: true)
    {
    }

    internal MemcachedCacheBackend(MemcachedClient client, MemcachedCacheBackendOptions? options, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(client);
        options ??= new MemcachedCacheBackendOptions();
        options.Validate();
        _client = client;
        _ownsClient = ownsClient;
        _prefix = string.IsNullOrEmpty(options.KeyPrefix) ? null : options.KeyPrefix;
        FailurePolicy = options.FailurePolicy;
        _maxItemSize = client.MaxItemSize;
        MaxKeyLength = MemcachedKeys.MaxKeyLength - (_prefix?.Length ?? 0);
        DefaultKeyMangler = key => MemcachedKeys.MangleIfUnsafe(key, MaxKeyLength);
    }

    /// <inheritdoc />
    public CacheBackendFailurePolicy? FailurePolicy { get; }

    /// <summary>Always <see langword="false"/>: memcached stores bytes, the region serializes.</summary>
    public bool StoresObjects => false;

    /// <summary>250 bytes (memcached's limit) less the length of <see cref="MemcachedCacheBackendOptions.KeyPrefix"/>.</summary>
    public int MaxKeyLength { get; }

    /// <summary>
    /// Keeps keys of printable ASCII without spaces that fit <see cref="MaxKeyLength"/>, and replaces every other key by
    /// <c>sha256:</c> and the hex SHA-256 of its UTF-8 bytes (71 characters).
    /// </summary>
    public Func<string, string> DefaultKeyMangler { get; }

    /// <summary>Sockets this backend's client has open to all servers, idle or in use; never above the pool caps.</summary>
    public int OpenConnectionCount => _client.OpenConnectionCount;

    /// <summary>The backend's key prefix, shared with lock providers built from this backend.</summary>
    internal string? KeyPrefix => _prefix;

    /// <summary>The client, shared with lock providers built from this backend.</summary>
    internal MemcachedClient Client => _client;

    /// <inheritdoc />
    // Pooled box: every read suspends here for its round trip.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        long started = _client.Time.GetTimestamp();
        MemcachedGetResult result;
        try
        {
            result = await _client.GetAsync(ToServerKey(key), cancellationToken).ConfigureAwait(false);
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("GET", ex, _client.Time.GetElapsedTime(started));
        }

        return result.Found ? CacheEntry.FromBytes(result.Value) : null;
    }

    /// <inheritdoc />
    /// <remarks>An entry whose bytes are not a valid envelope reads as <see langword="null"/>.</remarks>
    public async ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var serverKeys = new string[keys.Count];
        for (int i = 0; i < serverKeys.Length; i++)
        {
            serverKeys[i] = ToServerKey(keys[i]);
        }

        long started = _client.Time.GetTimestamp();
        IReadOnlyDictionary<string, MemcachedGetResult> found;
        try
        {
            found = await _client.GetManyAsync(serverKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("multi-GET", ex, _client.Time.GetElapsedTime(started));
        }

        var entries = new CacheEntry?[serverKeys.Length];
        for (int i = 0; i < serverKeys.Length; i++)
        {
            if (found.TryGetValue(serverKeys[i], out MemcachedGetResult result))
            {
                // A corrupt entry is a miss for a multi-get: one bad key must not fail the others.
                entries[i] = CacheEntry.TryFromBytes(result.Value, out CacheEntry? decoded) ? decoded : null;
            }
        }

        return entries;
    }

    /// <inheritdoc />
    /// <exception cref="CacheValueTooLargeException">
    /// The envelope is larger than <see cref="MemcachedClientOptions.MaxItemSize"/>, or the server refused it as too
    /// large for its item size limit (<c>-I</c>); nothing was written.
    /// </exception>
    public async ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string serverKey = ToServerKey(key);
        TimeSpan ttl = ToTtl(timeToLive);
        byte[] bytes = Encode(key, entry);
        await StoreAsync(key, serverKey, bytes, ttl, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Every entry is encoded and checked against the size limit before the first one is written.</remarks>
    public async ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var writes = new (string Key, string ServerKey, byte[] Bytes, TimeSpan Ttl)[entries.Count];
        for (int i = 0; i < writes.Length; i++)
        {
            CacheWrite write = entries[i];
            ArgumentNullException.ThrowIfNull(write.Entry);
            writes[i] = (write.Key, ToServerKey(write.Key), Encode(write.Key, write.Entry), ToTtl(write.TimeToLive));
        }

        // The pool bounds how many of these run on sockets at once; the rest wait for a connection.
        await Task.WhenAll(writes.Select(w => StoreAsync(w.Key, w.ServerKey, w.Bytes, w.Ttl, cancellationToken))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        long started = _client.Time.GetTimestamp();
        try
        {
            return await _client.DeleteAsync(ToServerKey(key), compareCas: null, cancellationToken).ConfigureAwait(false) == MemcachedDeleteStatus.Deleted;
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("DELETE", ex, _client.Time.GetElapsedTime(started));
        }
    }

    /// <inheritdoc />
    public async ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        string[] serverKeys = keys.Select(ToServerKey).ToArray();
        long started = _client.Time.GetTimestamp();
        try
        {
            await Task.WhenAll(serverKeys.Select(k => _client.DeleteAsync(k, compareCas: null, cancellationToken).AsTask())).ConfigureAwait(false);
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("DELETE (batch)", ex, _client.Time.GetElapsedTime(started));
        }
    }

    /// <summary>Disposes the client and closes its sockets, if this backend created it.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    internal string ToServerKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _prefix is null ? key : string.Concat(_prefix, key);
    }

    private static MemcachedClient CreateClient(MemcachedClientOptions clientOptions, TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(clientOptions);
        return new MemcachedClient(clientOptions, timeProvider, loggerFactory?.CreateLogger("Dogpile.Memcached"));
    }

    private static TimeSpan ToTtl(TimeSpan? timeToLive)
    {
        if (timeToLive is not { } ttl)
        {
            return TimeSpan.Zero; // memcached's "never expires"; the entry may still be evicted.
        }

        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeToLive), ttl, "A time to live must be positive; null keeps the entry until evicted.");
        }

        // memcached counts a TTL from its own clock, which ticks once a second: an item stored just before a tick loses
        // up to a second of it. One more second keeps every entry at least as long as asked (at most 2 s longer, which
        // only delays eviction: freshness comes from the entry's own metadata).
        return ttl + TimeSpan.FromSeconds(1);
    }

    private byte[] Encode(string key, CacheEntry entry)
    {
        byte[] bytes = entry.ToBytes();
        if (bytes.Length > _maxItemSize)
        {
            throw new CacheValueTooLargeException(key, bytes.Length, _maxItemSize);
        }

        return bytes;
    }

    private async Task StoreAsync(string key, string serverKey, byte[] bytes, TimeSpan ttl, CancellationToken cancellationToken)
    {
        long started = _client.Time.GetTimestamp();
        try
        {
            _ = await _client.SetAsync(serverKey, bytes, flags: 0, ttl, MemcachedStoreMode.Set, compareCas: null, cancellationToken).ConfigureAwait(false);
        }
        catch (MemcachedServerErrorException ex) when (ex.Message.Contains("too large", StringComparison.OrdinalIgnoreCase))
        {
            // The server's item limit (-I) counts the key and item header too, so it can refuse what the client allowed.
            throw new CacheValueTooLargeException(
                $"The value for key '{key}' is {bytes.Length} bytes; the memcached server refused it as larger than its item size limit " +
                $"(its -I setting, which also counts the key and item header; the client allows {_maxItemSize} bytes). Nothing was written.",
                ex);
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("SET", ex, _client.Time.GetElapsedTime(started));
        }
    }

}
