using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;
using Microsoft.Extensions.Logging;

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
    // The engine: each component owns its state; the region ties them to its public surface.
    private readonly RegionContext _context;
    private readonly HeldValues _held;
    private readonly EntryClassifier _classifier;
    private readonly NearLayer? _near;
    private readonly EntryReader _reader;
    private readonly EntryStore _store;
    private readonly RefreshElection _refresh;
    private readonly MultiKeyCreation _multi;
    private readonly CreationFlights _flights;
    private readonly GetOrCreatePath _path;
    private readonly FunctionRegistry _functions;
    private readonly IDisposable? _invalidationSubscription;
    private readonly IDisposable? _tagSubscription;

    // What the inlined hit reads, copied here so it follows no further reference: the memory backend when the inlined
    // hit applies to every key (no prefix, no mangler, no XFetch), or the near cache's store when it is keyed by the
    // caller's key (one null check on the hit path); the longest key it may peek; the clock and marks it compares with;
    // and the counter cell of a hit.
    private readonly MemoryCacheBackend? _inlineHitMemory;
    private readonly int _hitKeyMaxChars;
    private readonly RegionClock _clock;
    private readonly InvalidationMarks _marks;
    private readonly int _hitsSlot;
    private readonly bool _countHits;

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
        _context = new RegionContext(options, timeProvider, loggerFactory);
        _held = new HeldValues(_context);
        _classifier = new EntryClassifier(_context, _held);
        _near = NearLayer.Create(options, _context, _classifier);
        _reader = new EntryReader(_context, _classifier, _held, _near);
        _store = new EntryStore(_context, _classifier, _held, _near);
        _refresh = new RefreshElection(options, _context, _reader, _classifier, _store);
        _multi = new MultiKeyCreation(_context, _classifier, _reader, _store, _held, _refresh);
        _flights = new CreationFlights(_context, _classifier, _reader, _store, _held, _refresh);
        _path = new GetOrCreatePath(_context, _classifier, _reader, _held, _near, _refresh, _flights);
        _functions = new FunctionRegistry(Name);

        _clock = _context.Clock;
        _marks = _context.Marks;
        _hitsSlot = _context.Counters.HitsSlot;
        _countHits = _context.Counters.CountHitsAlways;

        // A ratio-based refresh point is stamped on the entry (HitUntilUtcTicks), so the inlined hit stays one compare;
        // XFetch draws at every read and needs the general path. A near entry exists only under a key the backend
        // accepted: there the inlined check needs no length bound.
        MemoryCacheBackend? memory = _context.Memory;
        _inlineHitMemory = _context.EarlyBeta > 0 ? null
            : memory is not null ? (_context.Keys.IsPlain ? memory : null)
            : _near is { ByCallerKey: true } ? _near.Store : null;
        _hitKeyMaxChars = _inlineHitMemory is not null && _near is not null ? int.MaxValue : _context.Keys.PlainHitMaxChars;

        _invalidationSubscription = _context.InvalidationStore?.Subscribe(Name, _marks.Apply);
        _tagSubscription = _context.InvalidationStore?.SubscribeTags(Name, _context.TagMarks.Apply);
        DogpileMetrics.Register(this);
    }

    /// <summary>The region's name.</summary>
    public string Name { get; }

    /// <summary>The backend this region stores into.</summary>
    public ICacheBackend Backend => _context.Backend;

    /// <summary>The serializer used for byte-oriented backends and for cached-function arguments.</summary>
    public ICacheSerializer Serializer => _context.Serializer;

    /// <summary>The region's default expiration; <see langword="null"/> when values never expire.</summary>
    public TimeSpan? DefaultExpiration => _context.DefaultLifetime.ToExpiration();

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
        // The backend awaited here rather than through EntryReader.ReadAsync: on a remote backend each nested async layer
        // is another state machine allocated per read.
        string backendKey = ToBackendKey(key);
        if (_near?.GetTrusted(key, backendKey) is { } held)
        {
            // A trusted near entry that is not fresh (expired, or invalidated since) says nothing of what the backend
            // holds now: another process may have written a newer value, so only a fresh one answers without a read.
            Lookup<T> near = _classifier.Classify<T>(key, held, _clock.CoarseUtcTicks);
            if (near.IsFresh)
            {
                return new CacheResult<T>(near.Value);
            }
        }

        CacheEntry? entry;
        try
        {
            entry = _near is null
                ? await _context.Backend.GetAsync(backendKey, cancellationToken).ConfigureAwait(false)
                : await _near.ReadThroughAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            _context.CountUnreadable(key, ex);
            entry = null;
        }
        catch (CacheBackendUnavailableException ex) when (_context.Degrade)
        {
            entry = _held.OnBackendReadFailed(key, ex);
            Lookup<T> outage = _classifier.Classify<T>(key, entry, _clock.CoarseUtcTicks);
            _context.Counters.DegradedServed();
            return outage.IsFresh ? new CacheResult<T>(outage.Value) : CacheResult<T>.DegradedMiss;
        }

        Lookup<T> lookup = _classifier.Classify<T>(key, entry, _clock.CoarseUtcTicks);
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
        (CacheEntry? entry, bool failed) = await _reader.ReadOrDegradeAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        long now = _clock.CoarseUtcTicks;
        Lookup<T> lookup = _classifier.Classify<T>(key, entry, now);
        CacheItem<T>? item = lookup.State switch
        {
            EntryState.Fresh or EntryState.FreshEarly => lookup.ToItem(now, CacheItemSource.Hit),
            EntryState.Stale or EntryState.TooStale => lookup.ToItem(now, CacheItemSource.Stale),
            _ => null,
        };
        return failed && item is { } served ? _held.ServedDegraded(served) : item;
    }

    /// <summary>Stores a value now, replacing any other; it counts as created at this moment.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">Per-call options (expiration, tags).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the value is stored.</returns>
    public ValueTask SetAsync<T>(string key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
        => _store.SetAsync(key, ToBackendKey(key), value, options, cancellationToken);

    /// <summary>Removes a value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when a value was removed.</returns>
    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
        => _store.RemoveAsync(key, ToBackendKey(key), cancellationToken);

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
        Log.Invalidated(_context.Logger, Name, mode);
        if (_context.InvalidationStore is { } store)
        {
            await _held.PublishInvalidationAsync(store, marks, cancellationToken).ConfigureAwait(false);
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
        if (_context.Gates.IsBusy(backendKey) || _flights.IsCreating(backendKey))
        {
            return new(true);
        }

        return _context.LockProvider is not { } lockProvider ? new(false) : lockProvider.IsHeldAsync(backendKey, cancellationToken);
    }

    /// <summary>Counts a hit with the copies the inlined hit reads (the counters themselves are one reference further).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountHit() => RegionCounters.Hit(_countHits, _hitsSlot);

    /// <summary>A snapshot of the region's counters.</summary>
    /// <returns>The counters.</returns>
    public CacheRegionStatistics GetStatistics()
        => _context.Counters.Snapshot(_refresh.Running, _refresh.Queued) with
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
        if (!_context.TryMarkDisposed())
        {
            return;
        }

        DogpileMetrics.Unregister(this);
        _invalidationSubscription?.Dispose();
        _tagSubscription?.Dispose();
        _near?.Dispose();
        await _refresh.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Validates a caller's key and turns it into the backend's key (mangled, then prefixed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal string ToBackendKey(string key) => _context.Keys.ToBackendKey(key);

    /// <summary>The failures of one kind of backend operation so far (the <c>Dogpile</c> meter's).</summary>
    internal long BackendFailureCount(BackendOperation operation) => _context.Counters.BackendFailures(operation);

    /// <summary>How many keys hold a failure record now (bounded by <see cref="FailureBackoff.DefaultCapacity"/>).</summary>
    internal int FailureRecordCount => _context.Failures.Count;
}
