using System.Globalization;
using System.Net;
using System.Text.Json;
using Dogpile;
using Dogpile.Testing;
using Packages.Tests.Upstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Packages.Web;
using Packages.Web.Metrics;

namespace Packages.Tests.Web;

/// <summary>
/// The web app started in-process on a free loopback port, in front of its own simulator (also in-process, on
/// another free port) so each test controls the tracker's faults and reads its call counts. Real Kestrel both ways.
/// </summary>
internal sealed class WebAppHarness : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebAppHarness(WebApplication app, UpstreamHarness upstream)
    {
        _app = app;
        Upstream = upstream;
        Address = PackagesWebApp.GetAddress(app);
        Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
        {
            BaseAddress = Address,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public UpstreamHarness Upstream { get; }

    /// <param name="delayScale">0.02 by default: kernel answers in ~60 ms, a small package in ~2 ms.</param>
    /// <param name="expirationSeconds">Cache:ExpirationSeconds; long by default so nothing expires unless a test wants it to.</param>
    /// <param name="settings">More settings, e.g. <see cref="RedisSettings"/>.</param>
    public static async Task<WebAppHarness> StartAsync(double delayScale = 0.02, double expirationSeconds = 300, params string[] settings)
    {
        var upstream = await UpstreamHarness.StartAsync(delayScale);
        try
        {
            var app = PackagesWebApp.Build(
            [
                "--urls", "http://127.0.0.1:0",
                "--Upstream:Url", upstream.Server.BaseAddress.ToString(),
                "--Cache:ExpirationSeconds", expirationSeconds.ToString(CultureInfo.InvariantCulture),
                "--Logging:LogLevel:Default", "Warning",
                .. settings,
            ]);
            await app.StartAsync();
            return new WebAppHarness(app, upstream);
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>The settings that put both regions on a redis-server (in-process refresh).</summary>
    public static string[] RedisSettings(ServerProcess redis) => ["--Cache:Backend", "redis", "--Cache:Connection", redis.Endpoint];

    public async Task<HttpResponseMessage> GetAsync(string path) => await Http.GetAsync(new Uri(path, UriKind.Relative));

    /// <summary>GETs a path and returns status, X-Cache, Age and body in one go.</summary>
    public async Task<Reply> GetReplyAsync(string path)
    {
        using var response = await GetAsync(path);
        return await Reply.ReadAsync(response);
    }

    /// <summary>How many times the tracker was asked for this package's bugs.</summary>
    public async Task<long> UpstreamCallsAsync(string package)
    {
        using var stats = JsonDocument.Parse(await Upstream.GetStringAsync("stats"));
        return stats.RootElement.GetProperty("calls").TryGetProperty(package, out var calls) ? calls.GetInt64() : 0;
    }

    /// <summary>
    /// One figure of this app's region, by its <c>/metrics</c> name (<c>dogpile_hits_total</c>), read from the region's
    /// statistics that the <c>Dogpile</c> meter reports. Not scraped: the meter is process-wide, and the apps of tests
    /// running in parallel in this process all have a region "bugs" (OpsTests checks the scrape on its own).
    /// </summary>
    public Task<long> MetricAsync(string name, string region = "bugs")
    {
        var metric = RegionMetrics.All.SingleOrDefault(m => m.Name == name)
            ?? throw new Xunit.Sdk.XunitException($"no region figure is named {name}");
        var stats = _app.Services.GetRequiredService<ICacheRegionProvider>().GetRegion(region).GetStatistics();
        return Task.FromResult(metric.Read(stats));
    }

    public Task SetFaultAsync(string mode, int delayMs = 0) =>
        Upstream.SetFaultAsync($$"""{"mode": "{{mode}}", "delayMs": {{delayMs}}}""");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>A response reduced to what the tests look at.</summary>
internal sealed record Reply(HttpStatusCode Status, string? Cache, TimeSpan? Age, string? ContentType, string Body)
{
    public static async Task<Reply> ReadAsync(HttpResponseMessage response)
    {
        var cache = response.Headers.TryGetValues("X-Cache", out var values) ? values.Single() : null;
        return new Reply(
            response.StatusCode,
            cache,
            response.Headers.Age,
            response.Content.Headers.ContentType?.ToString(),
            await response.Content.ReadAsStringAsync());
    }

    public int BugCount()
    {
        using var json = JsonDocument.Parse(Body);
        return json.RootElement.GetProperty("bugs").GetArrayLength();
    }
}

/// <summary>Polls a condition with a deadline: for the effects of background refreshes, never a fixed sleep.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {because}.");
            }

            await Task.Delay(20);
        }
    }
}
