using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Dogpile.Internal;

/// <summary>
/// The <c>Dogpile</c> meter. Instruments are observable: they read the regions' own counters only when a
/// listener collects, so an unobserved region pays nothing beyond its counters.
/// </summary>
internal static class DogpileMetrics
{
    public const string MeterName = "Dogpile";

    private static readonly ConcurrentDictionary<CacheRegion, byte> s_regions = new(ReferenceEqualityComparer.Instance);
    private static readonly Meter s_meter = new(MeterName, "1.0");

#pragma warning disable CA1823 // Instruments are kept alive by the meter; the fields document what exists.
    private static readonly ObservableCounter<long> s_hits = Counter("dogpile.hits", "Fresh values returned", s => s.Hits);
    private static readonly ObservableCounter<long> s_misses = Counter("dogpile.misses", "Calls that waited for a creator", s => s.Misses);
    private static readonly ObservableCounter<long> s_stale = Counter("dogpile.stale_served", "Stale values returned", s => s.StaleServed);
    private static readonly ObservableCounter<long> s_creations = Counter("dogpile.creations", "Creator calls that produced a value", s => s.Creations);
    private static readonly ObservableCounter<long> s_failures = Counter("dogpile.creation_failures", "Creator calls that threw", s => s.CreationFailures);
    private static readonly ObservableCounter<long> s_lockWaits = Counter("dogpile.lock_waits", "Calls that waited for another caller's creation", s => s.LockWaits);
    private static readonly ObservableCounter<long> s_lockTimeouts = Counter("dogpile.lock_timeouts", "Calls that timed out waiting", s => s.LockTimeouts);
    private static readonly ObservableCounter<long> s_refreshStarted = Counter("dogpile.refreshes_started", "Refreshes handed to a runner", s => s.RefreshesStarted);
    private static readonly ObservableCounter<long> s_refreshSkipped = Counter("dogpile.refreshes_skipped", "Refreshes skipped: runner full", s => s.RefreshesSkipped);
    private static readonly ObservableCounter<long> s_refreshFailed = Counter("dogpile.refreshes_failed", "Refreshes whose creator failed", s => s.RefreshesFailed);
    private static readonly ObservableCounter<long> s_unreadable = Counter("dogpile.unreadable_entries", "Stored values that could not be read", s => s.UnreadableEntries);
    private static readonly ObservableGauge<long> s_running = s_meter.CreateObservableGauge("dogpile.refreshes_running", () => Observe(s => s.RefreshesRunning), "{refresh}", "Refreshes running in process");
    private static readonly ObservableGauge<long> s_queued = s_meter.CreateObservableGauge("dogpile.refreshes_queued", () => Observe(s => s.RefreshesQueued), "{refresh}", "Refreshes waiting in the in-process backlog");
#pragma warning restore CA1823

    public static void Register(CacheRegion region) => s_regions.TryAdd(region, 0);

    public static void Unregister(CacheRegion region) => s_regions.TryRemove(region, out _);

    private static ObservableCounter<long> Counter(string name, string description, Func<CacheRegionStatistics, long> read)
        => s_meter.CreateObservableCounter(name, () => Observe(read), "{call}", description);

    private static IEnumerable<Measurement<long>> Observe(Func<CacheRegionStatistics, long> read)
    {
        foreach (CacheRegion region in s_regions.Keys)
        {
            yield return new Measurement<long>(read(region.GetStatistics()), new KeyValuePair<string, object?>("region", region.Name));
        }
    }
}
