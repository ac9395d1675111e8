using System.Runtime.CompilerServices;
using System.Diagnostics.Metrics;
using Dogpile.Engine;

namespace Dogpile.Internal;

/// <summary>
/// The <c>Dogpile</c> meter. Counters are observable: they read the regions' own counters only when a
/// listener collects, so an unobserved region pays nothing beyond its counters (and does not count hits at all
/// unless it sets <see cref="CacheRegionOptions.CountHits"/>). Histograms (durations, in seconds as the OpenTelemetry
/// conventions ask) are recorded only where the region already waits or creates, and only when enabled.
/// </summary>
internal static class DogpileMetrics
{
    public const string MeterName = "Dogpile";

    // Weak: a region that is dropped without being disposed must not be kept alive by its metrics.
    private static readonly ConditionalWeakTable<CacheRegion, object> s_regions = new();
    private static readonly Meter s_meter = new(MeterName, "1.0");

    private static readonly ObservableCounter<long> s_hits = Counter("dogpile.hits", "Fresh values returned", s => s.Hits);
#pragma warning disable CA1823 // Instruments are kept alive by the meter; the fields document what exists.
    private static readonly ObservableCounter<long> s_misses = Counter("dogpile.misses", "Calls that waited for a creator", s => s.Misses);
    private static readonly ObservableCounter<long> s_stale = Counter("dogpile.stale_served", "Stale values returned", s => s.StaleServed);
    private static readonly ObservableCounter<long> s_creations = Counter("dogpile.creations", "Creator calls that produced a value", s => s.Creations);
    private static readonly ObservableCounter<long> s_failures = Counter("dogpile.creation_failures", "Creator calls that threw", s => s.CreationFailures);
    private static readonly ObservableCounter<long> s_lockWaits = Counter("dogpile.lock_waits", "Calls that waited for another caller's creation", s => s.LockWaits);
    private static readonly ObservableCounter<long> s_lockTimeouts = Counter("dogpile.lock_timeouts", "Calls that timed out waiting", s => s.LockTimeouts);
    private static readonly ObservableCounter<long> s_refreshStarted = Counter("dogpile.refreshes_started", "Refreshes handed to a runner", s => s.RefreshesStarted);
    private static readonly ObservableCounter<long> s_refreshSkipped = Counter("dogpile.refreshes_skipped", "Refreshes skipped: runner full", s => s.RefreshesSkipped);
    private static readonly ObservableCounter<long> s_refreshFailed = Counter("dogpile.refreshes_failed", "Refreshes whose creator failed", s => s.RefreshesFailed);
    private static readonly ObservableCounter<long> s_fallbacks = Counter("dogpile.refresh_fallbacks", "Refreshes a durable runner refused, run in process instead", s => s.RefreshFallbacks);
    private static readonly ObservableCounter<long> s_unreadable = Counter("dogpile.unreadable_entries", "Stored values that could not be read", s => s.UnreadableEntries);
    private static readonly ObservableCounter<long> s_notStored = Counter("dogpile.values_not_stored", "Created values the backend refused to store (too large)", s => s.ValuesNotStored);
    private static readonly ObservableGauge<long> s_running = s_meter.CreateObservableGauge("dogpile.refreshes_running", () => Observe(s => s.RefreshesRunning), "{refresh}", "Refreshes running in process");
    private static readonly ObservableGauge<long> s_queued = s_meter.CreateObservableGauge("dogpile.refreshes_queued", () => Observe(s => s.RefreshesQueued), "{refresh}", "Refreshes waiting in the in-process backlog");
    private static readonly ObservableCounter<long> s_degraded = Counter("dogpile.degraded_served", "Results served without the shared backend (it was unavailable)", s => s.DegradedServed);
    private static readonly ObservableCounter<long> s_backendFailures = s_meter.CreateObservableCounter(
        "dogpile.backend.failures", ObserveBackendFailures, "{call}", "Calls to the shared backend, lock or invalidation store that failed as unavailable, by operation");
#pragma warning restore CA1823

    // Seconds: from a 1 ms memory creation to a 10 s upstream (the OpenTelemetry duration buckets, shifted down).
    private static readonly InstrumentAdvice<double> s_durationAdvice = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    /// <summary>How long creator runs took (the creator alone, not the store), by region and outcome.</summary>
    public static readonly Histogram<double> CreationDuration = s_meter.CreateHistogram(
        "dogpile.creation.duration", "s", "Duration of creator runs (in line or in a refresh)", tags: null, s_durationAdvice);

    /// <summary>How long callers waited for a key's lock or another caller's creation, by region, lock kind and outcome.</summary>
    public static readonly Histogram<double> LockWaitDuration = s_meter.CreateHistogram(
        "dogpile.lock.wait.duration", "s", "Time spent waiting for a key's lock or for another caller's creation", tags: null, s_durationAdvice);

    /// <summary>Whether any listener has <c>dogpile.hits</c> enabled: hits are counted only then (or when a region asks).</summary>
    public static bool HitsListened
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => s_hits.Enabled;
    }

    public static void RecordCreation(string region, string outcome, TimeSpan duration)
    {
        if (CreationDuration.Enabled)
        {
            CreationDuration.Record(duration.TotalSeconds, new("region", region), new(DogpileTracing.Tags.Outcome, outcome));
        }
    }

    public static void RecordLockWait(string region, string kind, string outcome, TimeSpan duration)
    {
        if (LockWaitDuration.Enabled)
        {
            LockWaitDuration.Record(duration.TotalSeconds, new("region", region), new(DogpileTracing.Tags.LockKind, kind), new(DogpileTracing.Tags.Outcome, outcome));
        }
    }

    public static void Register(CacheRegion region) => s_regions.TryAdd(region, s_meter);

    public static void Unregister(CacheRegion region) => s_regions.Remove(region);

    private static ObservableCounter<long> Counter(string name, string description, Func<CacheRegionStatistics, long> read)
        => s_meter.CreateObservableCounter(name, () => Observe(read), "{call}", description);

    private static IEnumerable<Measurement<long>> ObserveBackendFailures()
    {
        foreach (KeyValuePair<CacheRegion, object> pair in s_regions)
        {
            CacheRegion region = pair.Key;
            for (var operation = BackendOperation.Read; operation <= BackendOperation.Invalidation; operation++)
            {
                yield return new Measurement<long>(
                    region.BackendFailureCount(operation),
                    new KeyValuePair<string, object?>("region", region.Name),
                    new KeyValuePair<string, object?>("operation", OperationTag(operation)));
            }
        }
    }

    private static string OperationTag(BackendOperation operation) => operation switch
    {
        BackendOperation.Read => "read",
        BackendOperation.Write => "write",
        BackendOperation.Remove => "remove",
        BackendOperation.Lock => "lock",
        _ => "invalidation",
    };

    private static IEnumerable<Measurement<long>> Observe(Func<CacheRegionStatistics, long> read)
    {
        foreach (KeyValuePair<CacheRegion, object> pair in s_regions)
        {
            CacheRegion region = pair.Key;
            yield return new Measurement<long>(read(region.GetStatistics()), new KeyValuePair<string, object?>("region", region.Name));
        }
    }
}
