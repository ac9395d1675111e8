using System.Globalization;
using System.Text;
using Dogpile;

namespace Packages.Web.Metrics;

/// <summary>One figure of a region's statistics, as a Prometheus metric and a row of the status page.</summary>
/// <param name="Name">Metric name, <c>dogpile_</c>-prefixed.</param>
/// <param name="Type">counter or gauge.</param>
/// <param name="Help">One line for <c># HELP</c> and the status page.</param>
/// <param name="Read">Picks the figure out of a snapshot.</param>
internal sealed record RegionMetric(string Name, string Type, string Help, Func<CacheRegionStatistics, long> Read);

/// <summary>Renders region statistics in the Prometheus text exposition format (version 0.0.4).</summary>
internal static class RegionMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

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

    public const string QueueDepthName = "dogpile_refresh_queue_depth";

    public const string QueueDepthHelp = "Refresh jobs waiting in the durable queue.";

    public static string Render(IReadOnlyList<(string Region, CacheRegionStatistics Stats)> regions, IReadOnlyList<(string Queue, long Depth)> queues)
    {
        var text = new StringBuilder(4096);
        foreach (var metric in All)
        {
            Header(text, metric.Name, metric.Type, metric.Help);
            foreach (var (region, stats) in regions)
            {
                Sample(text, metric.Name, "region", region, metric.Read(stats));
            }
        }

        if (queues.Count > 0)
        {
            Header(text, QueueDepthName, "gauge", QueueDepthHelp);
            foreach (var (queue, depth) in queues)
            {
                Sample(text, QueueDepthName, "queue", queue, depth);
            }
        }

        return text.ToString();
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string label, string value, long sample) =>
        text.Append(name).Append('{').Append(label).Append("=\"").Append(EscapeLabel(value)).Append("\"} ")
            .Append(sample.ToString(CultureInfo.InvariantCulture)).Append('\n');

    /// <summary>Label values escape backslash, double quote and newline, per the exposition format.</summary>
    private static string EscapeLabel(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
