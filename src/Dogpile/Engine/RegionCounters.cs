using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// A region's counters: what <see cref="CacheRegion.GetStatistics"/> reports and the <c>Dogpile</c> meter publishes.
/// The two bumped by many threads at once on hot paths (hits, stale served) are striped; the rest are plain
/// interlocked counts of slow-path events.
/// </summary>
internal sealed class RegionCounters(bool countHits)
{
    private readonly StripedCounter _hits = new();
    private readonly StripedCounter _staleServed = new();
    private long _misses;
    private long _creations;
    private long _creationFailures;
    private long _lockWaits;
    private long _lockTimeouts;
    private long _refreshesStarted;
    private long _refreshesSkipped;
    private long _refreshesFailed;
    private long _refreshFallbacks;
    private long _unreadable;
    private long _notStored;
    private long _degradedServed;
    private readonly long[] _backendFailures = new long[(int)BackendOperation.Invalidation + 1];

    /// <summary>Whether hits are counted regardless of listeners (<see cref="CacheRegionOptions.CountHits"/>).</summary>
    public bool CountHitsAlways { get; } = countHits;

    /// <summary>This region's cell of the striped hit counter, read once by the hit path.</summary>
    public int HitsSlot => _hits.Slot;

    /// <summary>
    /// Counts a fresh hit when <see cref="CacheRegionOptions.CountHits"/> is set or a listener collects
    /// <c>dogpile.hits</c>: the per-thread cell is a thread-static access, a call on linux-x64, and would be
    /// a third of an unobserved memory hit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(bool countAlways, int slot)
    {
        if (countAlways || DogpileMetrics.HitsListened)
        {
            StripedCounter.Increment(slot);
        }
    }

    public void StaleServed() => _staleServed.Increment();

    public void Miss() => Interlocked.Increment(ref _misses);

    public void Created(int count = 1) => Interlocked.Add(ref _creations, count);

    public void CreationFailed() => Interlocked.Increment(ref _creationFailures);

    public void LockWaited() => Interlocked.Increment(ref _lockWaits);

    public void LockTimedOut() => Interlocked.Increment(ref _lockTimeouts);

    public void RefreshStarted() => Interlocked.Increment(ref _refreshesStarted);

    public void RefreshSkipped() => Interlocked.Increment(ref _refreshesSkipped);

    public void RefreshFailed() => Interlocked.Increment(ref _refreshesFailed);

    public void RefreshFellBack() => Interlocked.Increment(ref _refreshFallbacks);

    public void Unreadable() => Interlocked.Increment(ref _unreadable);

    public void NotStored() => Interlocked.Increment(ref _notStored);

    public void DegradedServed() => Interlocked.Increment(ref _degradedServed);

    public void BackendFailed(BackendOperation operation) => Interlocked.Increment(ref _backendFailures[(int)operation]);

    public long BackendFailures(BackendOperation operation) => Volatile.Read(ref _backendFailures[(int)operation]);

    public CacheRegionStatistics Snapshot(long refreshesRunning, long refreshesQueued) => new()
    {
        Hits = _hits.Sum(),
        Misses = Volatile.Read(ref _misses),
        StaleServed = _staleServed.Sum(),
        Creations = Volatile.Read(ref _creations),
        CreationFailures = Volatile.Read(ref _creationFailures),
        LockWaits = Volatile.Read(ref _lockWaits),
        LockTimeouts = Volatile.Read(ref _lockTimeouts),
        RefreshesStarted = Volatile.Read(ref _refreshesStarted),
        RefreshesSkipped = Volatile.Read(ref _refreshesSkipped),
        RefreshesFailed = Volatile.Read(ref _refreshesFailed),
        RefreshFallbacks = Volatile.Read(ref _refreshFallbacks),
        UnreadableEntries = Volatile.Read(ref _unreadable),
        ValuesNotStored = Volatile.Read(ref _notStored),
        DegradedServed = Volatile.Read(ref _degradedServed),
        BackendReadFailures = BackendFailures(BackendOperation.Read),
        BackendWriteFailures = BackendFailures(BackendOperation.Write) + BackendFailures(BackendOperation.Remove),
        BackendLockFailures = BackendFailures(BackendOperation.Lock),
        BackendInvalidationFailures = BackendFailures(BackendOperation.Invalidation),
        RefreshesRunning = refreshesRunning,
        RefreshesQueued = refreshesQueued,
    };
}
