using Dogpile;

namespace Packages.Web.Metrics;

/// <summary>One figure of a region's statistics: a row of the status page, named as <c>/metrics</c> names it.</summary>
/// <param name="Name">The Prometheus name of the <c>Dogpile</c> meter's instrument (<c>dogpile.hits</c> is <c>dogpile_hits_total</c>).</param>
/// <param name="Type">counter or gauge.</param>
/// <param name="Help">One line for <c># HELP</c> and the status page.</param>
/// <param name="Read">Picks the figure out of a snapshot.</param>
internal sealed record RegionMetric(string Name, string Type, string Help, Func<CacheRegionStatistics, long> Read);

/// <summary>The figures of the status page's region table.</summary>
internal static class RegionMetrics
{
    public static readonly IReadOnlyList<RegionMetric> All =
    [
        new("dogpile_hits_total", "counter", "Fresh values served from the cache.", s => s.Hits),
        new("dogpile_misses_total", "counter", "Calls that found no usable value and waited for a creator.", s => s.Misses),
        new("dogpile_stale_served_total", "counter", "Stale values served while a refresh ran or after it failed.", s => s.StaleServed),
        new("dogpile_creations_total", "counter", "Creator calls that produced a value.", s => s.Creations),
        new("dogpile_creation_failures_total", "counter", "Creator calls that threw.", s => s.CreationFailures),
        new("dogpile_lock_waits_total", "counter", "Calls that waited for another caller's creation.", s => s.LockWaits),
        new("dogpile_lock_timeouts_total", "counter", "Calls that gave up waiting for another caller's creation.", s => s.LockTimeouts),
        new("dogpile_refreshes_started_total", "counter", "Background refreshes handed to a runner.", s => s.RefreshesStarted),
        new("dogpile_refreshes_skipped_total", "counter", "Refreshes skipped because the runner was full.", s => s.RefreshesSkipped),
        new("dogpile_refreshes_failed_total", "counter", "Background refreshes whose creator failed.", s => s.RefreshesFailed),
        new("dogpile_refresh_fallbacks_total", "counter", "Refreshes a durable queue refused, run in-process instead.", s => s.RefreshFallbacks),
        new("dogpile_unreadable_entries_total", "counter", "Stored values that could not be read and counted as misses.", s => s.UnreadableEntries),
        new("dogpile_refreshes_running", "gauge", "Refreshes running now on the in-process runner.", s => s.RefreshesRunning),
        new("dogpile_refreshes_queued", "gauge", "Refreshes waiting in the in-process runner's backlog.", s => s.RefreshesQueued),
    ];
}
