using Dogpile.Redis.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// Everything Dogpile keeps in Redis, over one shared <see cref="IConnectionMultiplexer"/>: the fenced
/// <see cref="Backend"/>, the <see cref="LockProvider"/>, the distributed <see cref="InvalidationStore"/> and the durable
/// <see cref="RefreshQueue"/>. Create one per process (or register it with <c>AddDogpile().AddRedis(...)</c>) and give
/// its parts to every region: the number of connections stays the same whatever the load.
/// </summary>
/// <remarks>See <see cref="DogpileRedisOptions"/> for what happens when Redis is slow or down.</remarks>
public sealed class DogpileRedis : IAsyncDisposable, IDisposable
{
    private readonly RedisConnection _connection;
    private readonly RedisCacheBackend _backend;
    private readonly RedisInvalidationStore _invalidation;
    private readonly RedisRefreshQueue _queue;

    /// <summary>Creates the parts; the connection is opened on first use.</summary>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="timeProvider">The clock for leases, time-outs and back-offs; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where to log; nowhere by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public DogpileRedis(DogpileRedisOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        TimeProvider = timeProvider ?? TimeProvider.System;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        ILogger logger = LoggerFactory.CreateLogger("Dogpile.Redis");
        _connection = new RedisConnection(options, TimeProvider, logger);
        _backend = new RedisCacheBackend(_connection, new RedisChangeFeed(_connection, logger), options.MaxValueBytes) { FailurePolicy = options.FailurePolicy };
        Locks = new RedisLockProvider(_connection, options, logger);
        _invalidation = new RedisInvalidationStore(_connection, logger);
        _queue = new RedisRefreshQueue(_connection, options, logger);
    }

    /// <summary>The cache backend (stores the entry envelope bytes, fenced writes under a lock).</summary>
    public IFencedCacheBackend Backend => _backend;

    /// <summary>
    /// The cross-process creation lock: <c>SET NX</c> with a lease and a fencing token, released and extended only by
    /// compare-and-delete on its owner token, renewed while its creator runs.
    /// </summary>
    public ICacheLockProvider LockProvider => Locks;

    /// <summary>Shares region invalidations between processes.</summary>
    public IInvalidationStore InvalidationStore => _invalidation;

    /// <summary>
    /// The durable refresh queue: a region using it as its <see cref="CacheRegionOptions.RefreshRunner"/> hands
    /// refreshes of cached functions to the processes that run a worker (<see cref="CreateWorker"/>, or
    /// <c>AddRedisRefreshWorker</c>). Ad-hoc creators (closures) are
    /// refused and run in process.
    /// </summary>
    public IRefreshRunner RefreshQueue => _queue;

    /// <summary>The settings this instance was built with.</summary>
    public DogpileRedisOptions Options { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal RedisConnection Connection => _connection;

    internal RedisRefreshQueue Queue => _queue;

    internal RedisLockProvider Locks { get; }

    /// <summary>The shared multiplexer (connecting it if this is the first use).</summary>
    /// <returns>The multiplexer.</returns>
    public Task<IConnectionMultiplexer> GetMultiplexerAsync() => _connection.GetMultiplexerAsync();

    /// <summary>
    /// Sets the region options' Redis parts that are not set yet: backend, lock provider, invalidation store, a near cache
    /// (<see cref="CacheRegionOptions.NearCache"/>, kept coherent by this backend's change notices) and, optionally, the
    /// refresh runner.
    /// </summary>
    /// <param name="options">The region's options.</param>
    /// <param name="useRefreshQueue">Whether background refreshes of cached functions go to the durable queue.</param>
    public void ApplyTo(CacheRegionOptions options, bool useRefreshQueue = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Backend ??= Backend;
        options.LockProvider ??= LockProvider;
        options.InvalidationStore ??= InvalidationStore;
        if (ReferenceEquals(options.Backend, Backend))
        {
            options.NearCache ??= new NearCacheOptions();
        }
        if (useRefreshQueue)
        {
            options.RefreshRunner ??= RefreshQueue;
        }

        if (string.IsNullOrEmpty(options.KeyPrefix) && !string.IsNullOrEmpty(options.Name))
        {
            // Regions share one Redis database: keep their keys apart.
            options.KeyPrefix = options.Name + ":";
        }
    }

    /// <summary>Reads the queue's state and this process's job counters, for a metrics page.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public ValueTask<RedisQueueSnapshot> GetQueueSnapshotAsync(CancellationToken cancellationToken = default)
        => _queue.GetSnapshotAsync(cancellationToken);

    /// <summary>
    /// Creates a worker that runs the queue's jobs on the regions <paramref name="regions"/> finds by name: it reads
    /// jobs as the consumer <see cref="RedisRefreshWorkerOptions.ConsumerName"/>, runs each under its key's lock, retries
    /// failed ones and dead-letters those that fail <see cref="RedisRefreshWorkerOptions.MaxAttempts"/> times.
    /// </summary>
    /// <param name="regions">Finds a region by name; <see langword="null"/> (or an <see cref="ArgumentException"/>) for an unknown one.</param>
    /// <param name="options">The worker's settings.</param>
    /// <returns>The worker; host it (<c>AddHostedService</c>), or call <c>StartAsync</c> and <c>StopAsync</c> and dispose it.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public BackgroundService CreateWorker(Func<string, CacheRegion?> regions, RedisRefreshWorkerOptions? options = null)
        => new RedisRefreshWorker(this, regions, options ?? new RedisRefreshWorkerOptions());

    /// <summary>
    /// Closes the connection if this instance opened it, blocking until it is closed: for a container disposed
    /// synchronously (<c>using var provider = services.BuildServiceProvider()</c>), which refuses a singleton that can
    /// only be disposed asynchronously. Prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Closes the connection if this instance opened it.</summary>
    /// <returns>A task that completes when it is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        _queue.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
