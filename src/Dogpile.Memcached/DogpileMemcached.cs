using Dogpile.Memcached.Client;
using Microsoft.Extensions.Logging;

namespace Dogpile.Memcached;

/// <summary>
/// Everything Dogpile keeps in memcached, over one client (one bounded pool per server): the <see cref="Backend"/> and
/// the cross-process <see cref="LockProvider"/>. Create one per process (or register it with
/// <c>AddDogpile().AddMemcached(...)</c>) and give its parts to every region, as with <c>DogpileRedis</c>.
/// </summary>
/// <remarks>
/// memcached has no pub/sub and no streams: region invalidation stays in process and refreshes run in process.
/// </remarks>
public sealed class DogpileMemcached : IDisposable
{
    private readonly MemcachedClient _client;
    private readonly MemcachedCacheBackend _backend;
    private readonly MemcachedLockProvider _locks;

    /// <summary>Creates the parts; connections are opened on first use.</summary>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="timeProvider">The clock for TTLs, leases and dead-server delays; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where to log; nowhere by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public DogpileMemcached(DogpileMemcachedOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        TimeProvider time = timeProvider ?? TimeProvider.System;
        _client = new MemcachedClient(options.Client, time, loggerFactory?.CreateLogger("Dogpile.Memcached"));
        _backend = new MemcachedCacheBackend(_client, options.Backend, ownsClient: false);
        _locks = new MemcachedLockProvider(_client, _backend.KeyPrefix, options.Lock, time, ownsClient: false);
    }

    /// <summary>The cache backend (stores the entry envelope bytes; keys that break memcached's rules are hashed).</summary>
    public ICacheBackend Backend => _backend;

    /// <summary>The client, for the health check.</summary>
    internal MemcachedClient Client => _client;

    /// <summary>The backend's own failure policy, for the health check.</summary>
    internal CacheBackendFailurePolicy? FailurePolicy => _backend.FailurePolicy;

    /// <summary>The cross-process creation lock (add with a lease, released by compare-and-swap on its owner token).</summary>
    public ICacheLockProvider LockProvider => _locks;

    /// <summary>The settings this instance was built with.</summary>
    public DogpileMemcachedOptions Options { get; }

    /// <summary>Sockets open to all servers, idle or in use; never above <see cref="MemcachedClientOptions.MaxConnectionsPerServer"/> per server.</summary>
    public int OpenConnectionCount => _client.OpenConnectionCount;

    /// <summary>
    /// Sets the region options' memcached parts that are not set yet: backend, lock provider and a near cache; and, for a region
    /// without a <see cref="CacheRegionOptions.KeyPrefix"/>, <c>"{name}:"</c>, so regions stay apart in memcached.
    /// </summary>
    /// <param name="options">The region's options.</param>
    public void ApplyTo(CacheRegionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Backend ??= Backend;
        options.LockProvider ??= LockProvider;
        if (ReferenceEquals(options.Backend, Backend))
        {
            // memcached announces no changes: near entries are trusted for NearCacheOptions.Duration (1 s by default).
            options.NearCache ??= new NearCacheOptions();
        }

        if (string.IsNullOrEmpty(options.KeyPrefix) && !string.IsNullOrEmpty(options.Name))
        {
            options.KeyPrefix = options.Name + ":";
        }
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        // The backend and the lock provider share the client and own nothing else.
        _client.Dispose();
    }
}
