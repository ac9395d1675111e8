using System.Diagnostics;
using System.Net;
using Dogpile.Redis;
using Dogpile.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;
using Packages.Upstream;
using Packages.Web;
using Packages.Worker;

namespace Packages.Tests.Distributed;

/// <summary>
/// The showcase's OpenTelemetry traces across the refresh queue: a web app and a worker host, each with its own
/// in-memory exporter, on a real redis-server and a real simulator. A page request that finds a stale value enqueues a
/// job; the worker's job span, with the refresh and creation under it, carries that request's trace id.
/// </summary>
[Collection(nameof(DistributedShowcase))]
public sealed class QueueTraceTests
{
    [Fact]
    public async Task StaleValueFoundByARequest_RefreshSpanComesFromTheWorker_InTheRequestsTrace()
    {
        await using var redis = ServerProcess.Redis();
        await redis.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync(new UpstreamOptions { DelayScale = 0.01 }, CancellationToken.None);
        string[] settings =
        [
            "--Cache:Backend", "redis", "--Cache:Connection", redis.Endpoint, "--Cache:Refresh", "queue",
            "--Cache:ExpirationSeconds", "1", "--Upstream:Url", upstream.BaseAddress.ToString(),
            "--Logging:LogLevel:Default", "Warning",
        ];
        var webSpans = new List<Activity>();
        var workerSpans = new List<Activity>();
        WebApplication web = PackagesWebApp.Build(
            ["--urls", "http://127.0.0.1:0", .. settings],
            services => services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(webSpans)));
        await using var webLifetime = web;
        await web.StartAsync();
        using IHost worker = PackagesWorker.Build(settings, services => services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(workerSpans)));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = PackagesWebApp.GetAddress(web) };

        // The web app only enqueues: none of its hosted services comes from Dogpile.Redis.
        Assert.DoesNotContain(web.Services.GetServices<IHostedService>(), s => s.GetType().Assembly == typeof(DogpileRedis).Assembly);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative))).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(1.3));
        using HttpResponseMessage stale = await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative));
        Assert.Equal("stale", stale.Headers.GetValues("X-Cache").Single());

        // The page request's server span, from the web app's exporter.
        Activity page = await EventuallySingleAsync(webSpans, a => a.Kind == ActivityKind.Server && a.DisplayName.Contains("/api/packages/{name}/bugs", StringComparison.Ordinal) && a.GetTagItem("http.response.status_code") is 200 && HasChild(webSpans, a, "enqueue"), "the stale request's span");

        // The worker's job span continues that trace, from the worker's exporter, with the refresh and creation under it.
        Activity job = await EventuallySingleAsync(workerSpans, a => a.OperationName == "dogpile.redis.job" && a.TraceId == page.TraceId, "the job span in the worker");
        Assert.Equal(page.SpanId, job.ParentSpanId);
        Assert.Equal(PackagesWorker.ConsumerName(worker), job.GetTagItem("dogpile.worker"));
        Assert.Equal("completed", job.GetTagItem("dogpile.job.outcome"));
        Activity refresh = await EventuallySingleAsync(workerSpans, a => a.OperationName == "dogpile.refresh" && a.ParentSpanId == job.SpanId, "the refresh span");
        Assert.Equal(page.TraceId, refresh.TraceId);
        Assert.Equal("created", refresh.GetTagItem("dogpile.outcome"));
        Activity create = await EventuallySingleAsync(workerSpans, a => a.OperationName == "dogpile.create" && a.ParentSpanId == refresh.SpanId, "the creation span");
        Assert.Contains(Snapshot(workerSpans), a => a.Kind == ActivityKind.Client && a.Source.Name == "System.Net.Http" && a.ParentSpanId == create.SpanId);

        await worker.StopAsync();
        await web.StopAsync();
    }

    private static bool HasChild(List<Activity> spans, Activity parent, string operation)
        => Snapshot(spans).Any(a => a.ParentSpanId == parent.SpanId && a.OperationName == operation);

    /// <summary>Exporters add spans as they end, on their own threads: wait until exactly one matches.</summary>
    private static async Task<Activity> EventuallySingleAsync(List<Activity> spans, Func<Activity, bool> match, string what)
    {
        Activity? found = null;
        await Eventually.TrueAsync(() =>
        {
            Activity[] matching = Snapshot(spans).Where(match).ToArray();
            found = matching.Length == 1 ? matching[0] : null;
            return found is not null;
        }, what, TimeSpan.FromSeconds(20));
        return found!;
    }

    /// <summary>A copy taken while the exporter may be adding: a copy that collided with an add is taken again.</summary>
    private static Activity[] Snapshot(List<Activity> spans)
    {
        while (true)
        {
            try
            {
                return [.. spans.ToArray().Where(a => a is not null)];
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
            }
        }
    }
}
