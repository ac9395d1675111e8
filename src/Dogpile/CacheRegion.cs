using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dogpile;

/// <summary>
/// One logical cache: a name, a backend, a default expiration and the dogpile lock rules around them.
/// </summary>
/// <remarks>
/// <para>For every key, at most one creator runs at a time, across every caller of this region (and, with a
/// <see cref="CacheRegionOptions.LockProvider"/>, across processes). The rules are Python dogpile.cache's:</para>
/// <list type="bullet">
/// <item><b>Fresh</b>: returned; no lock is touched.</item>
/// <item><b>Stale</b> (expired, or soft-invalidated, for at most <see cref="CacheRegionOptions.MaxStaleness"/>): a
/// non-blocking try-lock elects one regenerator; every other caller gets the stale value at once.</item>
/// <item><b>Missing</b> (absent, hard-invalidated, unreadable, or too stale): callers wait on the per-key lock;
/// the holder re-reads, runs the creator once, and every waiter gets the same value or the same exception.</item>
/// </list>
/// <para>The region is thread-safe. Dispose it to stop its background refreshes.</para>
/// </remarks>
public sealed partial class CacheRegion : IAsyncDisposable, IDisposable
{
    private readonly ICacheBackend _backend;
    private readonly MemoryCacheBackend? _memory;

    // The memory backend shares the region's clock: a created value's time to live counts from its stamp (one clock read less).
    private readonly bool _stampedMemoryWrites;

    // The memory backend when the inlined hit check applies to every key (no prefix, no mangler, no early
    // refresh), or the near cache's store when it is keyed by the caller's key: one null check on the hit path.
    private readonly MemoryCacheBackend? _inlineHitMemory;

    // The near cache in front of a shared backend (null for the memory backend, or when turned off), whether it is keyed
    // by the caller's key (else by the backend key), and the change feed's subscription that keeps it coherent.
    private readonly NearCache? _near;
    private readonly bool _nearByCallerKey;
    private readonly IDisposable? _changeSubscription;
    private readonly bool _storesObjects;
    private readonly BackendKeys _keys;
    private readonly int _hitKeyMaxChars;
    private readonly ICacheSerializer _serializer;
    private readonly Func<object?, bool>? _validator;
    private readonly ICacheLockProvider? _lockProvider;
    private readonly IRefreshRunner _runner;
    private readonly BoundedRefreshRunner _localRunner;
    private readonly RegionClock _clock;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EntryLifetime _defaultLifetime;
    private readonly long _staleWindowTicks;
    private readonly long _maxStalenessTicks;
    private readonly TimeSpan _lockTimeout;
    private readonly bool _backgroundRefresh;
    private readonly TraceKeyMode _traceKeys;
    private readonly double _earlyRatio;
    private readonly double _earlyBeta;
    private readonly bool _earlyRefreshEnabled;
    private readonly IInvalidationStore? _invalidationStore;
    private readonly IDisposable? _invalidationSubscription;
    private readonly KeyedGates _gates = new();
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);
    private readonly SharedReads _sharedReads = new();
    private readonly FailureBackoff _failures;
    private readonly UnstoredValues _unstored = new();
    private readonly FunctionRegistry _functions;

    private readonly InvalidationMarks _marks;
    private readonly TagMarks _tagMarks;
    private readonly IDisposable? _tagSubscription;
    private int _disposed;

    private readonly RegionCounters _counters;

    // Copies of what the hit path needs to count a hit, so it reads no further object.
    private readonly int _hitsSlot;
    private readonly bool _countHits;

    // The lock provider's entries (read with a lock, carried by a release notice) are this backend's: use them as reads.
    private readonly bool _lockReadsBackend;
    private long _lastFutureStampLog;

    /// <summary>
    /// How far in the future a stored created time may be before the reader stops trusting it: clocks of servers kept in
    /// sync by NTP differ by milliseconds, so a second is generous, and bounds what a fast clock can add to freshness.
    /// </summary>
    internal const long MaxClockSkewTicks = TimeSpan.TicksPerSecond;

    /// <summary>Builds a region.</summary>
    /// <param name="options">The region's settings; validated here, and copied, so later changes have no effect.</param>
    /// <param name="timeProvider">The clock for everything time-based; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the region logs; nowhere by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public CacheRegion(CacheRegionOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        Name = options.Name;
        _time = timeProvider ?? TimeProvider.System;
        _clock = new RegionClock(_time);
        _marks = new InvalidationMarks(_clock);
        _functions = new FunctionRegistry(Name);
        _tagMarks = new TagMarks(_marks);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Dogpile.CacheRegion");
        _backend = options.Backend ?? new MemoryCacheBackend(options.Memory ?? new MemoryCacheBackendOptions(), _time);
        _memory = _backend as MemoryCacheBackend;
        _stampedMemoryWrites = _memory?.Uses(_time) == true;
        _counters = new RegionCounters(options.CountHits);
        _hitsSlot = _counters.HitsSlot;
        _countHits = _counters.CountHitsAlways;
        _storesObjects = _backend.StoresObjects;
        _keys = new BackendKeys(_backend, options.KeyPrefix, options.KeyMangler);
        _hitKeyMaxChars = _keys.PlainHitMaxChars;
        _serializer = options.Serializer ?? SystemTextJsonCacheSerializer.Default;
        _validator = options.ValueValidator;
        _lockProvider = options.LockProvider;
        _degrade = (options.BackendFailurePolicy ?? _backend.FailurePolicy ?? CacheBackendFailurePolicy.Degrade) == CacheBackendFailurePolicy.Degrade;
        _lockReadsBackend = _lockProvider?.ReadsFrom(_backend) ?? false;
        _defaultLifetime = EntryLifetime.FromExpiration(options.Expiration);
        _staleWindowTicks = options.StaleWindow.Ticks;
        _maxStalenessTicks = options.EffectiveMaxStaleness.Ticks;
        _lockTimeout = options.LockTimeout;
        _backgroundRefresh = options.BackgroundRefresh;
        _traceKeys = options.TraceKeys;
        _earlyRatio = options.EffectiveEarlyRefreshRatio;
        _earlyBeta = options.EarlyExpirationBeta ?? 0;
        _earlyRefreshEnabled = _earlyRatio > 0 || _earlyBeta > 0;

        // A ratio-based refresh point is stamped on the entry (HitUntilUtcTicks), so the inlined hit stays one compare;
        // XFetch draws at every read and needs the general path.
        if (_memory is null && options.NearCache is { Enabled: true } nearOptions)
        {
            // Keyed by the caller's key, the near cache serves the inlined hit with no key to build. A feed's notices name
            // backend keys: mapped back by stripping the prefix, which a mangler makes impossible (then the backend key).
            ICacheChangeFeed? feed = _backend as ICacheChangeFeed;
            _nearByCallerKey = feed is null || !_keys.HasMangler;
            _near = new NearCache(nearOptions, options.StaleWindow, feed is not null, _time, NearKeyOfBackendKey, AdmitToNear);
            _changeSubscription = feed?.Subscribe(_near);
        }

        _inlineHitMemory = _earlyBeta > 0 ? null
            : _memory is not null ? (_keys.IsPlain ? _memory : null)
            : _near is not null && _nearByCallerKey ? _near.Store : null;
        if (_inlineHitMemory is not null && _near is not null)
        {
            // A near entry exists only under a key the backend accepted: the inlined check needs no length bound.
            _hitKeyMaxChars = int.MaxValue;
        }

        _failures = new FailureBackoff(options.RefreshFailureBackoff.Ticks, options.RefreshFailureMaxBackoff.Ticks);
        _localRunner = new BoundedRefreshRunner(options.MaxConcurrentRefreshes, options.RefreshBacklog, _logger);
        _runner = options.RefreshRunner ?? _localRunner;
        _invalidationStore = options.InvalidationStore;
        _invalidationSubscription = _invalidationStore?.Subscribe(Name, _marks.Apply);
        _tagSubscription = _invalidationStore?.SubscribeTags(Name, _tagMarks.Apply);
        DogpileMetrics.Register(this);
    }

    /// <summary>The region's name.</summary>
    public string Name { get; }

    /// <summary>The backend this region stores into.</summary>
    public ICacheBackend Backend => _backend;

    /// <summary>The serializer used for byte-oriented backends and for cached-function arguments.</summary>
    public ICacheSerializer Serializer => _serializer;

    /// <summary>The region's default expiration; <see langword="null"/> when values never expire.</summary>
    public TimeSpan? DefaultExpiration => _defaultLifetime.ToExpiration();

    /// <summary>Reads a fresh value. Never returns an expired or invalidated value.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A hit with the value, or a miss (<see cref="CacheResult{T}.Degraded"/> when the backend was unavailable).</returns>
    /// <exception cref="ArgumentException">The key is null, empty, or too long for the backend.</exception>
    /// <exception cref="CacheBackendUnavailableException">The backend is unavailable and the policy is <see cref="CacheBackendFailurePolicy.Throw"/>.</exception>
    // Pooled box: a remote hit suspends here on every read (with the backend's, about 350 B less garbage per hit).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CacheResult<T>> GetAsync<T>(string key, CancellationToken cancellationToken = default)
    {
        // The backend awaited here rather than through ReadAsync: on a remote backend each nested async layer is
        // another state machine allocated per read.
        string backendKey = ToBackendKey(key);
        if (_near?.GetTrusted(NearKey(key, backendKey)) is { } held)
        {
            // A trusted near entry that is not fresh (expired, or invalidated since) says nothing of what the backend
            // holds now: another process may have written a newer value, so only a fresh one answers without a read.
            Lookup<T> near = Classify<T>(key, held, _clock.CoarseUtcTicks);
            if (near.IsFresh)
            {
                return new CacheResult<T>(near.Value);
            }
        }

        CacheEntry? entry;
        try
        {
            entry = _near is null
                ? await _backend.GetAsync(backendKey, cancellationToken).ConfigureAwait(false)
                : await ReadThroughNearAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            CountUnreadable(key, ex);
            entry = null;
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            entry = OnBackendReadFailed(key, ex);
            Lookup<T> outage = Classify<T>(key, entry, _clock.CoarseUtcTicks);
            _counters.DegradedServed();
            return outage.IsFresh ? new CacheResult<T>(outage.Value) : CacheResult<T>.DegradedMiss;
        }

        Lookup<T> lookup = Classify<T>(key, entry, _clock.CoarseUtcTicks);
        return lookup.IsFresh ? new CacheResult<T>(lookup.Value) : default(CacheResult<T>);
    }

    /// <summary>
    /// Reads a value with its metadata: created time, age, and whether it is stale. Stale values within the
    /// stale window are returned (with <see cref="CacheItem{T}.IsStale"/> set); hard-invalidated ones are not.
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The item, or <see langword="null"/> when there is no usable value.</returns>
    public async ValueTask<CacheItem<T>?> GetItemAsync<T>(string key, CancellationToken cancellationToken = default)
    {
        string backendKey = ToBackendKey(key);
        (CacheEntry? entry, bool failed) = await ReadOrDegradeAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        long now = _clock.CoarseUtcTicks;
        Lookup<T> lookup = Classify<T>(key, entry, now);
        CacheItem<T>? item = lookup.State switch
        {
            EntryState.Fresh or EntryState.FreshEarly => ToItem(lookup, now, CacheItemSource.Hit),
            EntryState.Stale or EntryState.TooStale => ToItem(lookup, now, CacheItemSource.Stale),
            _ => null,
        };
        return failed && item is { } served ? ServedDegraded(served) : item;
    }

    /// <summary>Stores a value now, replacing any other; it counts as created at this moment.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">Per-call options (expiration, tags).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the value is stored.</returns>
    public ValueTask SetAsync<T>(string key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        string backendKey = ToBackendKey(key);
        EntryLifetime lifetime = ResolveLifetime(options);
        CacheEntry entry = MakeEntry(value, _marks.StampCreated(), lifetime, TimeSpan.Zero, options?.TagArray);
        _failures.Succeeded(backendKey);
        ForgetLocal(key);
        ValueTask write = _backend.SetAsync(backendKey, entry, TimeToLive(lifetime), cancellationToken);
        if (_memory is not null)
        {
            return write;
        }

        // Under Degrade a failed write is dropped and the value held here; the near cache then keeps it at once.
        ValueTask guarded = SetOrDegradeAsync(write, key, backendKey, entry);
        return _near is not null ? WriteThroughNearAfterAsync(guarded, key, backendKey, entry) : guarded;
    }

    /// <summary>A remote set in flight: under Degrade a failed one is dropped, and this process holds the value it set.</summary>
    private async ValueTask SetOrDegradeAsync(ValueTask write, string key, string backendKey, CacheEntry entry)
    {
        try
        {
            await ForgetSharedReadsAfterAsync(write, backendKey).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            OnBackendWriteFailed(BackendOperation.Write, key, ex);
            HoldCreatedDuringOutage(key, entry);
        }
    }

    /// <summary>Removes a value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when a value was removed.</returns>
    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        string backendKey = ToBackendKey(key);
        ForgetLocal(key);
        ValueTask<bool> removal = _backend.RemoveAsync(backendKey, cancellationToken);
        return _memory is null ? RemoveOrDegradeAsync(removal, key, backendKey) : removal;
    }

    /// <summary>A remote removal in flight: under Degrade a failed one is dropped (false: nothing known to be removed).</summary>
    private async ValueTask<bool> RemoveOrDegradeAsync(ValueTask<bool> removal, string key, string backendKey)
    {
        try
        {
            return await ForgetSharedReadAfterAsync(removal, key, backendKey).ConfigureAwait(false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            OnBackendWriteFailed(BackendOperation.Remove, key, ex);
            return false;
        }
    }

    /// <summary>
    /// After this process writes or removes keys, a caller must not join a read of them that started before: it would
    /// get what was there before the write (the writer's next read would not see its own write).
    /// </summary>
    private async ValueTask ForgetSharedReadsAfterAsync(ValueTask write, params IEnumerable<string> backendKeys)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            foreach (string backendKey in backendKeys)
            {
                _sharedReads.Forget(backendKey);
            }
        }
    }

    private async ValueTask<bool> ForgetSharedReadAfterAsync(ValueTask<bool> removal, string key, string backendKey)
    {
        try
        {
            return await removal.ConfigureAwait(false);
        }
        finally
        {
            _sharedReads.Forget(backendKey);
            _near?.Evict(NearKey(key, backendKey));
        }
    }

    /// <summary>
    /// Invalidates every value created until now, in this process and, with an
    /// <see cref="CacheRegionOptions.InvalidationStore"/>, in every process.
    /// </summary>
    /// <param name="mode">Hard: older values count as missing. Soft: older values count as stale and are served while one refresh runs.</param>
    /// <param name="cancellationToken">Cancels the publication to other processes.</param>
    /// <returns>A task that completes when the invalidation is in force (and published).</returns>
    public async ValueTask InvalidateAsync(InvalidationMode mode = InvalidationMode.Hard, CancellationToken cancellationToken = default)
    {
        RegionInvalidation marks = _marks.Next(mode);
        _marks.Apply(marks);
        Log.Invalidated(_logger, Name, mode);
        if (_invalidationStore is not null)
        {
            await PublishInvalidationAsync(marks, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether the key's creation lock is held now: a creation or refresh is running in this process, or, with a
    /// <see cref="CacheRegionOptions.LockProvider"/>, in any process (dogpile's <c>key_is_locked</c>). For diagnostics:
    /// the answer can change as soon as it is given.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the question to the lock provider.</param>
    /// <returns>Whether the lock is held.</returns>
    public ValueTask<bool> IsLockedAsync(string key, CancellationToken cancellationToken = default)
    {
        string backendKey = ToBackendKey(key);
        if (_gates.IsBusy(backendKey) || _flights.ContainsKey(backendKey))
        {
            return new(true);
        }

        return _lockProvider is null ? new(false) : _lockProvider.IsHeldAsync(backendKey, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountHit() => RegionCounters.Hit(_countHits, _hitsSlot);

    /// <summary>A snapshot of the region's counters.</summary>
    /// <returns>The counters.</returns>
    public CacheRegionStatistics GetStatistics()
        => _counters.Snapshot(_localRunner.Running, _localRunner.Queued) with
        {
            NearCache = _near is null ? NearCacheState.Off : _near.FeedLive ? NearCacheState.Coherent : NearCacheState.TimeBounded,
            NearCacheEntries = _near?.Count ?? 0,
        };

    /// <summary>
    /// Like <see cref="DisposeAsync"/>, blocking until the runner has stopped: for a container disposed synchronously
    /// (<c>using var provider = services.BuildServiceProvider()</c>), which refuses a singleton it can only dispose
    /// asynchronously. Stopping awaits nothing that needs the calling thread. Prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Stops background refreshes (queued ones are dropped and their locks released) and unregisters metrics.</summary>
    /// <returns>A task that completes when the runner has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        DogpileMetrics.Unregister(this);
        _invalidationSubscription?.Dispose();
        _tagSubscription?.Dispose();
        _changeSubscription?.Dispose();
        await _localRunner.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Validates a caller's key and turns it into the backend's key (mangled, then prefixed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal string ToBackendKey(string key) => _keys.ToBackendKey(key);

    /// <summary>A call's lifetime: its options' expiration, else the region's; a zero or negative one (but never) is rejected.</summary>
    private EntryLifetime ResolveLifetime(CacheEntryOptions? options)
    {
        if (options?.Expiration is not { } expiration)
        {
            return _defaultLifetime;
        }

        if (expiration <= TimeSpan.Zero && expiration != CacheRegionOptions.NeverExpires)
        {
            Throw.InvalidExpiration(expiration);
        }

        return EntryLifetime.FromExpiration(expiration);
    }

    /// <summary>The backend's time to live: the logical expiration plus the stale window, so stale values exist to serve.</summary>
    private TimeSpan? TimeToLive(EntryLifetime lifetime) => lifetime.TimeToLive(_staleWindowTicks);

    private CacheEntry MakeEntry<T>(T value, long createdUtcTicks, EntryLifetime lifetime, TimeSpan creationDuration, string[]? tags)
    {
        CacheEntry entry;
        if (_storesObjects)
        {
            entry = new CacheEntry(value, createdUtcTicks, lifetime, creationDuration.Ticks);
        }
        else
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            _serializer.Serialize(value, buffer);
            entry = new CacheEntry(buffer.WrittenMemory, createdUtcTicks, lifetime, creationDuration.Ticks);
            entry.Decoded = value;
        }

        entry.TagArray = tags;

        if (_earlyRatio > 0 && !lifetime.IsNever)
        {
            // Up to a tenth of the expiration earlier, at random: keys created together (a warm-up, a mass expiry) come
            // due over a spread instead of all at once, so the bounded runner is not handed them in one burst.
            entry.HitUntilUtcTicks = EarlyRefreshPoint(entry) - Random.Shared.NextInt64((lifetime.Ticks / 10) + 1);
        }

        return entry;
    }

    /// <summary>
    /// Starts a caller's first read of a key; a backend that rejects a corrupt entry synchronously yields a logged miss.
    /// On a remote backend, callers that arrive while a read of the same key is in flight share it: a hundred callers
    /// of a cold key cost one round trip, not a hundred. (Re-reads under the lock never share: they must see writes
    /// made after the lock was taken.)
    /// </summary>
    private ValueTask<CacheEntry?> StartRead(string key, string backendKey, CancellationToken cancellationToken)
    {
        ValueTask<CacheEntry?> read = StartRead(key, backendKey, cancellationToken, out SharedReads.Lead? lead);
        return lead is null ? read : new ValueTask<CacheEntry?>(_sharedReads.LeadToEndAsync(lead, read));
    }

    /// <summary>
    /// <see cref="StartRead(string, string, CancellationToken)"/> for a caller that awaits the read itself: a
    /// non-null <paramref name="lead"/> means others may join this read, and the caller must end it with
    /// <see cref="SharedReads.Finish"/> or <see cref="SharedReads.Fail"/> once awaited. That saves the hit a task.
    /// </summary>
    private ValueTask<CacheEntry?> StartRead(string key, string backendKey, CancellationToken cancellationToken, out SharedReads.Lead? lead)
    {
        lead = null;
        if (_memory is not null)
        {
            return TryStartBackendRead(key, backendKey, cancellationToken);
        }

        int slot = SharedReads.SlotOf(backendKey);
        if (_sharedReads.TryJoin(slot, backendKey) is { } inFlight)
        {
            return new ValueTask<CacheEntry?>(inFlight.WaitAsync(cancellationToken));
        }

        // A shared read belongs to every caller that joins it, so no single caller's token may cancel it; the
        // backend's own timeouts bound it.
        ValueTask<CacheEntry?> read = TryStartBackendRead(key, backendKey, CancellationToken.None);
        if (read.IsCompleted)
        {
            return read;
        }

        lead = _sharedReads.TryLead(slot, backendKey);
        if (lead is not null && cancellationToken.CanBeCanceled)
        {
            // This caller may stop waiting before the read ends, so the read is led to its end without it.
            Task<CacheEntry?> led = _sharedReads.LeadToEndAsync(lead, read);
            lead = null;
            return new ValueTask<CacheEntry?>(led.WaitAsync(cancellationToken));
        }

        return read;
    }

    private ValueTask<CacheEntry?> TryStartBackendRead(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return _near is null ? _backend.GetAsync(backendKey, cancellationToken) : ReadThroughNearAsync(key, backendKey, cancellationToken);
        }
        catch (CacheSerializationException ex)
        {
            CountUnreadable(key, ex);
            return default;
        }
    }

    /// <summary>Reads from the backend; a corrupt entry counts as a miss and is logged, never thrown.</summary>
    private async ValueTask<CacheEntry?> ReadAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return _near is null
                ? await _backend.GetAsync(backendKey, cancellationToken).ConfigureAwait(false)
                : await ReadThroughNearAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            CountUnreadable(key, ex);
            return null;
        }
    }

    /// <summary>
    /// The backend refused a created value as too large: its callers still get it (it was created), it is held in this
    /// process for its lifetime so nobody creates it again, and it is logged once per back-off period.
    /// </summary>
    private void HoldUnstorable(string key, string backendKey, CacheEntry entry, CacheValueTooLargeException ex)
    {
        _counters.NotStored();
        long now = _clock.PreciseUtcTicks;
        _unstored.Hold(key, entry, entry.Lifetime.DropAt(entry.CreatedUtcTicks, _staleWindowTicks), now);
        bool alreadyBackingOff = _failures.IsBackingOff(backendKey, now);
        TimeSpan backoff = _failures.Failed(backendKey, now);
        if (!alreadyBackingOff)
        {
            Log.ValueNotStorable(_logger, Name, key, ex.Size, ex.Limit, backoff);
        }
    }

    private void CountUnreadable(string key, Exception ex)
    {
        _counters.Unreadable();
        Log.UnreadableEntry(_logger, ex, Name, key);
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            Throw.ObjectDisposed(Name);
        }
    }
}
