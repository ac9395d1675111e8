using Dogpile.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dogpile.Engine;

/// <summary>
/// What every engine component of one region shares: the settings derived from its options (read once, never written
/// again) and the services and state owners they all use (backend, clock, logger, serializer, counters, marks, gates,
/// back-off). Built once by the region and handed to each component.
/// </summary>
internal sealed class RegionContext
{
    private int _disposed;

    public RegionContext(CacheRegionOptions options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        Name = options.Name;
        Time = timeProvider ?? TimeProvider.System;
        Clock = new RegionClock(Time);
        Marks = new InvalidationMarks(Clock);
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Dogpile.CacheRegion");
        Backend = options.Backend ?? new MemoryCacheBackend(options.Memory ?? new MemoryCacheBackendOptions(), Time);
        Memory = Backend as MemoryCacheBackend;
        StampedMemoryWrites = Memory?.Uses(Time) == true;
        Counters = new RegionCounters(options.CountHits);
        StoresObjects = Backend.StoresObjects;
        Keys = new BackendKeys(Backend, options.KeyPrefix, options.KeyMangler);
        Serializer = options.Serializer ?? SystemTextJsonCacheSerializer.Default;
        Validator = options.ValueValidator;
        LockProvider = options.LockProvider;
        Degrade = (options.BackendFailurePolicy ?? Backend.FailurePolicy ?? CacheBackendFailurePolicy.Degrade) == CacheBackendFailurePolicy.Degrade;
        LockReadsBackend = LockProvider?.ReadsFrom(Backend) ?? false;
        DefaultLifetime = EntryLifetime.FromExpiration(options.Expiration);
        StaleWindow = options.StaleWindow;
        MaxStalenessTicks = options.EffectiveMaxStaleness.Ticks;
        LockTimeout = options.LockTimeout;
        BackgroundRefresh = options.BackgroundRefresh;
        TraceKeys = options.TraceKeys;
        EarlyRatio = options.EffectiveEarlyRefreshRatio;
        EarlyBeta = options.EarlyExpirationBeta ?? 0;
        EarlyRefreshEnabled = EarlyRatio > 0 || EarlyBeta > 0;
        Failures = new FailureBackoff(options.RefreshFailureBackoff.Ticks, options.RefreshFailureMaxBackoff.Ticks);
        InvalidationStore = options.InvalidationStore;
    }

    public string Name { get; }

    public TimeProvider Time { get; }

    public RegionClock Clock { get; }

    public ILogger Logger { get; }

    public ICacheBackend Backend { get; }

    /// <summary>The backend when it is the embedded memory backend: read directly, synchronously.</summary>
    public MemoryCacheBackend? Memory { get; }

    /// <summary>The memory backend shares the region's clock: a created value's time to live counts from its stamp (one clock read less).</summary>
    public bool StampedMemoryWrites { get; }

    /// <summary>Whether the backend keeps live objects (else bytes, decoded on read).</summary>
    public bool StoresObjects { get; }

    public BackendKeys Keys { get; }

    public ICacheSerializer Serializer { get; }

    public Func<object?, bool>? Validator { get; }

    public ICacheLockProvider? LockProvider { get; }

    /// <summary>Whether the policy is Degrade (the region's setting, else the backend's, else Degrade).</summary>
    public bool Degrade { get; }

    /// <summary>The lock provider's entries (read with a lock, carried by a release notice) are this backend's: use them as reads.</summary>
    public bool LockReadsBackend { get; }

    public EntryLifetime DefaultLifetime { get; }

    public TimeSpan StaleWindow { get; }

    public long StaleWindowTicks => StaleWindow.Ticks;

    public long MaxStalenessTicks { get; }

    public TimeSpan LockTimeout { get; }

    public bool BackgroundRefresh { get; }

    public TraceKeyMode TraceKeys { get; }

    public double EarlyRatio { get; }

    public double EarlyBeta { get; }

    public bool EarlyRefreshEnabled { get; }

    public RegionCounters Counters { get; }

    public InvalidationMarks Marks { get; }

    public TagMarks TagMarks => Marks.Tags;

    public FailureBackoff Failures { get; }

    /// <summary>The in-process per-key creation locks.</summary>
    public KeyedGates Gates { get; } = new();

    /// <summary>Remote reads of one key in flight, joined by concurrent callers.</summary>
    public SharedReads SharedReads { get; } = new();

    public IInvalidationStore? InvalidationStore { get; }

    /// <summary>Marks the region disposed; false when it already was.</summary>
    public bool TryMarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;

    /// <summary>Throws when the region is disposed: no new creation or refresh starts then.</summary>
    public void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            Throw.ObjectDisposed(Name);
        }
    }

    /// <summary>Everything a slow-path call needs, captured once (checked: a creator, a region not disposed, valid options).</summary>
    public Call<TState, T> NewCall<TState, T>(
        string key,
        string backendKey,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> creator,
        CacheEntryOptions? options,
        IRegisteredFunction? function,
        object? arguments)
    {
        ArgumentNullException.ThrowIfNull(creator);
        ThrowIfDisposed();
        return new Call<TState, T>(key, backendKey, state, creator, options, ResolveLifetime(options), function, arguments);
    }

    /// <summary>A call's lifetime: its options' expiration, else the region's; a zero or negative one (but never) is rejected.</summary>
    public EntryLifetime ResolveLifetime(CacheEntryOptions? options)
    {
        if (options?.Expiration is not { } expiration)
        {
            return DefaultLifetime;
        }

        if (expiration <= TimeSpan.Zero && expiration != CacheRegionOptions.NeverExpires)
        {
            Throw.InvalidExpiration(expiration);
        }

        return EntryLifetime.FromExpiration(expiration);
    }

    /// <summary>The backend's time to live: the lifetime plus the stale window, so stale values exist to serve.</summary>
    public TimeSpan? TimeToLive(EntryLifetime lifetime) => lifetime.TimeToLive(StaleWindowTicks);

    /// <summary>Counts a hit (the slow paths' count; the inlined hit keeps its own copies of the two fields).</summary>
    public void CountHit() => RegionCounters.Hit(Counters.CountHitsAlways, Counters.HitsSlot);

    public bool IsBackingOff(string backendKey, long now) => Failures.IsBackingOff(backendKey, now);

    /// <summary>A creation of the key failed now: it backs off.</summary>
    public void RecordFailure(string backendKey) => Failures.Failed(backendKey, Clock.PreciseUtcTicks);

    /// <summary>Takes the key's in-process gate, waiting at most the lock timeout (then a <see cref="CacheLockTimeoutException"/>).</summary>
    public async ValueTask<KeyedGates.GateLease> AcquireGateAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return await Gates.AcquireAsync(backendKey, LockTimeout, Time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!cancellationToken.IsCancellationRequested)
        {
            Counters.LockTimedOut();
            throw new CacheLockTimeoutException(key, LockTimeout);
        }
    }

    /// <summary>Releases a distributed lock; a failed release is logged, never thrown (the lease ends the lock anyway).</summary>
    public async ValueTask ReleaseQuietlyAsync(ICacheLock distributedLock, string key)
    {
        try
        {
            await distributedLock.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed release must not mask the value or error; the lease ends the lock anyway.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LockReleaseFailed(Logger, ex, Name, key);
        }
    }

    /// <summary>An entry that cannot be read (corrupt, of another type, failing the validator) is a counted, logged miss.</summary>
    public void CountUnreadable(string key, Exception ex)
    {
        Counters.Unreadable();
        Log.UnreadableEntry(Logger, ex, Name, key);
    }
}
