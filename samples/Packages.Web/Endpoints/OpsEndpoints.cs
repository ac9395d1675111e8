using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Dogpile;
using Packages.Web.Caching;
using Packages.Web.Configuration;
using Packages.Web.Html;
using Packages.Web.Metrics;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>
/// Operations: Prometheus metrics (the OpenTelemetry exporter: every Dogpile meter, ASP.NET Core and the runtime; see
/// <see cref="Observability"/>), a human status page, a liveness probe. Unknown addresses are answered by <see cref="ErrorResponses"/>.
/// </summary>
internal static class OpsEndpoints
{
    public static IEndpointRouteBuilder MapOps(this IEndpointRouteBuilder app)
    {
        // The exporter maps every method; like every other page, /metrics answers GET (and HEAD) only.
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new HttpMethodMetadata([HttpMethods.Get]));
        app.MapGet("/status", GetStatusAsync);
        app.MapGet("/status/charts", GetChartsAsync);
        app.MapGet("/api/status", GetStatusJson);
        app.MapPost("/status/stampede", Stampede.RunAsync);
        // From the health checks (the cache backend, its queue): 200 while healthy or degraded (the site answers without
        // the shared cache), 503 when unhealthy, and a JSON body listing each check.
        app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteHealthAsync,
        }).WithMetadata(new HttpMethodMetadata(["GET"]));
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            status = Name(report.Status),
            durationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.Select(e => new
            {
                name = e.Key,
                status = Name(e.Value.Status),
                description = e.Value.Description,
                durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                error = e.Value.Exception?.Message,
                data = e.Value.Data.ToDictionary(d => d.Key, d => d.Value?.ToString()),
            }),
        };
        return context.Response.WriteAsJsonAsync(body, context.RequestAborted);

        static string Name(HealthStatus status) => status switch
        {
            HealthStatus.Healthy => "healthy",
            HealthStatus.Degraded => "degraded",
            _ => "unhealthy",
        };
    }

    // Redraws the charts every second and runs the stampede form without leaving the page. Written by hand: no library.
    private const string Script = """
        <script>
        (() => {
          const live = document.getElementById('live');
          let busy = false;
          setInterval(async () => {
            if (busy) return;
            busy = true;
            try {
              const r = await fetch('/status/charts', { cache: 'no-store' });
              if (r.ok) live.innerHTML = await r.text();
            } catch (e) {
              // The app is restarting or gone: keep the last picture, try again next second.
            } finally {
              busy = false;
            }
          }, 1000);
          const form = document.getElementById('stampede');
          const out = document.getElementById('stampede-result');
          form.addEventListener('submit', async (e) => {
            e.preventDefault();
            out.textContent = 'Firing ' + form.n.value + ' requests…';
            const q = new URLSearchParams({ n: form.n.value });
            if (form.package.value) q.set('package', form.package.value);
            const r = await fetch('/status/stampede?' + q, { method: 'POST' });
            const j = await r.json();
            out.dataset.upstreamCalls = r.ok ? j.upstreamCalls : '';
            out.textContent = r.ok
              ? j.requests + ' requests for ' + j.package + ' cost ' + j.upstreamCalls + ' upstream call' + (j.upstreamCalls === 1 ? '' : 's')
                + ' (' + j.fetched + ' fetched, ' + j.waited + ' waited for it, ' + j.hits + ' hits) in ' + j.elapsedMs + ' ms.'
              : 'Refused: ' + j.error;
          });
        })();
        </script>

        """;

    private static string Charts(DashboardSampler sampler, PackagesSettings settings, FetchTracker tracker, RequestRecorder recorder, UpstreamClient client) =>
        Html.Charts.Render(sampler.Samples, PackagesSettings.Name(settings.Cache.Backend), tracker.FailingKeys, client.Calls, recorder.Requests);

    private static IResult GetChartsAsync(DashboardSampler sampler, PackagesSettings settings, FetchTracker tracker, RequestRecorder recorder, UpstreamClient client) =>
        Results.Content(Charts(sampler, settings, tracker, recorder, client), Page.ContentType);

    private static IResult GetStatusJson(DashboardSampler sampler, RequestRecorder recorder, UpstreamClient client, FetchTracker tracker) =>
        Results.Json(new StatusResponse(recorder.Requests, client.Calls, tracker.FailingKeys, sampler.Samples));

    private static async Task<IResult> GetStatusAsync(
        ICacheRegionProvider regions,
        IEnumerable<IRefreshQueueDepth> queues,
        PackagesSettings settings,
        UpstreamLocation upstream,
        DashboardSampler sampler,
        FetchTracker tracker,
        RequestRecorder recorder,
        UpstreamClient client,
        CancellationToken cancellationToken)
    {
        var stats = Snapshot(regions);
        var depths = await QueueDepthsAsync(queues, cancellationToken);
        var body = new StringBuilder(16 * 1024);
        body.Append("<p class=\"meta\">Live: the charts redraw every second from samples the app takes once a second (the last two minutes). "
            + "Requests counted are pages and API calls; this page's own polling is left out.</p>\n")
            .Append("<div class=\"card\" id=\"stampede-card\"><h2>Stampede</h2>\n<p>Fires N concurrent requests at a package whose bug list was just dropped from the cache. "
                + "Without Dogpile each would call the tracker; with it, one does and the rest wait for its answer.</p>\n")
            .Append(CultureInfo.InvariantCulture, $"<form id=\"stampede\" method=\"post\" action=\"/status/stampede\">N <input name=\"n\" type=\"number\" min=\"1\" max=\"{Endpoints.Stampede.MaxRequests}\" value=\"50\"> ")
            .Append("package <input name=\"package\" placeholder=\"(a random one)\"> <button type=\"submit\">Fire</button></form>\n")
            .Append("<p id=\"stampede-result\" class=\"meta\" aria-live=\"polite\"></p></div>\n")
            .Append("<div id=\"live\">").Append(Charts(sampler, settings, tracker, recorder, client)).Append("</div>\n")
            .Append(Script)
            .Append("<h2>Configuration</h2>\n<table>\n")
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

/// <summary>The dashboard's figures as JSON (pkgwat watch reads it).</summary>
internal sealed record StatusResponse(long Requests, long UpstreamCalls, int FailingKeys, IReadOnlyList<DashboardSample> Samples);
