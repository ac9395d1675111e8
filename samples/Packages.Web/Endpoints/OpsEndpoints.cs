using System.Globalization;
using System.Text;
using Dogpile;
using Packages.Web.Configuration;
using Packages.Web.Html;
using Packages.Web.Metrics;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>Operations: Prometheus metrics, a human status page, a liveness probe. Unknown addresses are answered by <see cref="ErrorResponses"/>.</summary>
internal static class OpsEndpoints
{
    public static IEndpointRouteBuilder MapOps(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", GetMetricsAsync);
        app.MapGet("/status", GetStatusAsync);
        app.MapGet("/healthz", () => Results.Text("ok", "text/plain; charset=utf-8"));
        return app;
    }

    private static async Task<IResult> GetMetricsAsync(ICacheRegionProvider regions, IEnumerable<IRefreshQueueDepth> queues, CancellationToken cancellationToken) =>
        Results.Text(RegionMetrics.Render(Snapshot(regions), await QueueDepthsAsync(queues, cancellationToken)), RegionMetrics.ContentType);

    private static async Task<IResult> GetStatusAsync(
        ICacheRegionProvider regions,
        IEnumerable<IRefreshQueueDepth> queues,
        PackagesSettings settings,
        UpstreamLocation upstream,
        CancellationToken cancellationToken)
    {
        var stats = Snapshot(regions);
        var depths = await QueueDepthsAsync(queues, cancellationToken);
        var body = new StringBuilder(4096);
        body.Append("<h2>Configuration</h2>\n<table>\n")
            .Append(Row("Cache:Backend", PackagesSettings.Name(settings.Cache.Backend)))
            .Append(Row("Cache:Connection", settings.Cache.Endpoints.Count == 0 ? "(none)" : string.Join(",", settings.Cache.Endpoints)))
            .Append(Row("Cache:ExpirationSeconds", settings.Cache.Expiration.TotalSeconds.ToString(CultureInfo.InvariantCulture)))
            .Append(Row("Cache:Refresh", PackagesSettings.Name(settings.Cache.Refresh)))
            .Append(Row("Worker:Enabled", settings.WorkerEnabled ? "true" : "false"))
            .Append(Row("Upstream", (upstream.Address?.ToString() ?? "(starting)") + (upstream.IsEmbedded ? " (embedded simulator)" : "")))
            .Append("</table>\n<h2>Cache regions</h2>\n<table>\n<thead><tr><th>Figure</th>");
        foreach (var (region, _) in stats)
        {
            body.Append("<th>").Append(Page.E(region)).Append("</th>");
        }

        body.Append("<th>Meaning</th></tr></thead>\n<tbody>\n");
        foreach (var metric in RegionMetrics.All)
        {
            body.Append("<tr><td>").Append(Page.E(metric.Name)).Append("</td>");
            foreach (var (_, snapshot) in stats)
            {
                body.Append("<td>").Append(metric.Read(snapshot).ToString(CultureInfo.InvariantCulture)).Append("</td>");
            }

            body.Append("<td>").Append(Page.E(metric.Help)).Append("</td></tr>\n");
        }

        body.Append("</tbody>\n</table>\n<h2>Refresh queue</h2>\n");
        if (depths.Count == 0)
        {
            body.Append("<p class=\"meta\">No durable queue: refreshes run in this process (Cache:Refresh inprocess).</p>");
        }
        else
        {
            body.Append("<table>\n");
            foreach (var (queue, depth) in depths)
            {
                body.Append(Row(queue, depth.ToString(CultureInfo.InvariantCulture)));
            }

            body.Append("</table>");
        }

        return Page.Render("Status", body.ToString());

        static string Row(string name, string value) => $"<tr><th>{Page.E(name)}</th><td>{Page.E(value)}</td></tr>\n";
    }

    private static List<(string Region, CacheRegionStatistics Stats)> Snapshot(ICacheRegionProvider regions) =>
        regions.RegionNames.Order(StringComparer.Ordinal).Select(name => (name, regions.GetRegion(name).GetStatistics())).ToList();

    private static async Task<List<(string Queue, long Depth)>> QueueDepthsAsync(IEnumerable<IRefreshQueueDepth> queues, CancellationToken cancellationToken)
    {
        var depths = new List<(string, long)>();
        foreach (var queue in queues)
        {
            depths.Add((queue.QueueName, await queue.GetDepthAsync(cancellationToken)));
        }

        return depths;
    }
}
