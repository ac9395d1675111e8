using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;
using Microsoft.Extensions.Logging;

namespace Dogpile;

// TEMPORARY: the names the creation and get-or-create paths (CacheRegion.Creation.cs, CacheRegion.GetOrCreate.cs) still
// use, forwarded to the engine components that own them now. It goes when those paths move to Engine/.
#pragma warning disable IDE1006 // The forwarders keep the field names the paths use.
public sealed partial class CacheRegion : IValueCreation
{
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);

    private ICacheBackend _backend => _context.Backend;

    private MemoryCacheBackend? _memory => _context.Memory;

    private bool _stampedMemoryWrites => _context.StampedMemoryWrites;

    private bool _backgroundRefresh => _context.BackgroundRefresh;

    private RegionCounters _counters => _context.Counters;

    private bool _degrade => _context.Degrade;

    private FailureBackoff _failures => _context.Failures;

    private KeyedGates _gates => _context.Gates;

    private ICacheLockProvider? _lockProvider => _context.LockProvider;

    private bool _lockReadsBackend => _context.LockReadsBackend;

    private TimeSpan _lockTimeout => _context.LockTimeout;

    private ILogger _logger => _context.Logger;

    private SharedReads _sharedReads => _context.SharedReads;

    private TimeProvider _time => _context.Time;

    private TraceKeyMode _traceKeys => _context.TraceKeys;
#pragma warning restore IDE1006

    ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> IValueCreation.CreateAndStoreAsync<TState, T>(
        Call<TState, T> call,
        ICacheLock? distributedLock,
        LockRelease? release,
        CancellationToken cancellationToken)
        => CreateAndStoreAsync(call, distributedLock, release, cancellationToken);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetFresh<T>(CacheEntry? entry, out T value) => _classifier.TryGetFresh(entry, out value);

    private bool TryGetStaleWhileBusy<T>(CacheEntry? entry, string backendKey, out T value) => _classifier.TryGetStaleWhileBusy(entry, backendKey, out value);

    private Lookup<T> Classify<T>(string key, CacheEntry? entry, long now) => _classifier.Classify<T>(key, entry, now);

    private RefreshReason ReasonFor(CacheEntry entry) => _classifier.ReasonFor(entry);

    private static CacheItem<T> ToItem<T>(in Lookup<T> lookup, long now, CacheItemSource source) => lookup.ToItem(now, source);

    private ValueTask<CacheEntry?> StartRead(string key, string backendKey, CancellationToken cancellationToken)
        => _reader.StartRead(key, backendKey, cancellationToken);

    private ValueTask<CacheEntry?> StartRead(string key, string backendKey, CancellationToken cancellationToken, out SharedReads.Lead? lead)
        => _reader.StartRead(key, backendKey, cancellationToken, out lead);

    private ValueTask<CacheEntry?> ReadAsync(string key, string backendKey, CancellationToken cancellationToken)
        => _reader.ReadAsync(key, backendKey, cancellationToken);

    private ValueTask<Lookup<T>> ReadLookupAsync<T>(string key, string backendKey, CancellationToken cancellationToken)
        => _reader.ReadLookupAsync<T>(key, backendKey, cancellationToken);

    private CacheEntry MakeEntry<T>(T value, long createdUtcTicks, EntryLifetime lifetime, TimeSpan creationDuration, string[]? tags)
        => _store.MakeEntry(value, createdUtcTicks, lifetime, creationDuration, tags);

    private void AfterWrite(string key, string backendKey, CacheEntry? stored) => _store.AfterWrite(key, backendKey, stored);

    private EntryLifetime ResolveLifetime(CacheEntryOptions? options) => _context.ResolveLifetime(options);

    private TimeSpan? TimeToLive(EntryLifetime lifetime) => _context.TimeToLive(lifetime);

    private bool IsBackingOff(string backendKey, long now) => _context.IsBackingOff(backendKey, now);

    private void RecordFailure(string backendKey) => _context.RecordFailure(backendKey);

    private void CountUnreadable(string key, Exception ex) => _context.CountUnreadable(key, ex);

    private CacheEntry? OnBackendReadFailed(string key, Exception ex) => _held.OnBackendReadFailed(key, ex);

    private void OnBackendWriteFailed(BackendOperation operation, string key, Exception ex) => _held.OnBackendWriteFailed(operation, key, ex);

    private void OnLockUnavailable(string key, Exception ex) => _held.OnLockUnavailable(key, ex);

    private void HoldCreatedDuringOutage(string key, CacheEntry entry) => _held.HoldCreatedDuringOutage(key, entry);

    private void HoldUnstorable(string key, string backendKey, CacheEntry entry, CacheValueTooLargeException ex) => _held.HoldUnstorable(key, backendKey, entry, ex);

    private void ForgetLocal(string key) => _held.Forget(key);

    private CacheItem<T> ServedDegraded<T>(CacheItem<T> item) => _held.ServedDegraded(item);

    private ValueTask<RefreshRequest?> TryElectAsync<TState, T>(Call<TState, T> call, RefreshReason reason, CancellationToken cancellationToken)
        => _refresh.TryElectAsync(call, reason, cancellationToken);

    private ValueTask ScheduleAsync(RefreshRequest request) => _refresh.ScheduleAsync(request);

    private RefreshRequest NewRefreshRequest<TState, T>(Call<TState, T> call, RefreshReason reason, KeyedGates.GateLease gate, ICacheLock? distributedLock)
        => _refresh.NewRefreshRequest(call, reason, gate, distributedLock);

    private void StartEarlyRefresh<TState, T>(Call<TState, T> call) => _refresh.StartEarlyRefresh(call);

    private ValueTask<RefreshResult<T>> ExecuteRefreshAsync<TState, T>(Call<TState, T> call, RefreshRequest request, CancellationToken cancellationToken)
        => _refresh.ExecuteRefreshAsync(call, request, cancellationToken);

    private void ThrowIfDisposed() => _context.ThrowIfDisposed();

    private ValueTask<KeyedGates.GateLease> AcquireGateAsync(string key, string backendKey, CancellationToken cancellationToken)
        => _context.AcquireGateAsync(key, backendKey, cancellationToken);
}
