using System.Net;
using System.Text.Json;
using Packages.Web.Endpoints;

namespace Packages.Tests.Web;

/// <summary>The live status dashboard: sampled charts, and the stampede control.</summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task Stampede_NConcurrentRequestsAtAColdPackage_CostOneUpstreamCall()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.05);
        await web.GetReplyAsync("api/packages/kernel/bugs"); // warm: the stampede must make it cold again itself

        using var response = await web.Http.PostAsync(new Uri("status/stampede?n=40&package=kernel", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal((40, 40, 1), (root.GetProperty("requests").GetInt32(), root.GetProperty("ok").GetInt32(), root.GetProperty("upstreamCalls").GetInt32()));
        Assert.Equal(2, await web.UpstreamCallsAsync("kernel")); // the warm-up and the stampede's one call
    }

    [Theory]
    [InlineData("0")]
    [InlineData("201")]
    [InlineData("many")]
    public async Task Stampede_OutsideItsBound_Is400(string n)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        using var response = await web.Http.PostAsync(new Uri($"status/stampede?n={n}", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData(false, true, "http://127.0.0.1:5080")]
    [InlineData(false, true, "http://localhost:5080", "http://[::1]:5080")]
    [InlineData(false, false, "http://0.0.0.0:5080")]
    [InlineData(false, false, "http://127.0.0.1:5080", "http://*:5081")]
    [InlineData(false, false, "http://192.168.1.10:80")]
    [InlineData(true, true, "http://0.0.0.0:5080")]
    public void Stampede_IsAllowedOnLoopbackOnly_UnlessConfigured(bool configured, bool allowed, params string[] addresses) =>
        Assert.Equal(allowed, Stampede.IsAllowed(configured, addresses));

    [Fact]
    public async Task Charts_DrawTheSampledSeconds()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        await web.GetReplyAsync("packages/bash");

        string charts = "";
        await Eventually.TrueAsync(
            async () => (charts = await web.Http.GetStringAsync(new Uri("status/charts", UriKind.Relative))).Contains("data-points=\"2\"", StringComparison.Ordinal),
            "two seconds are sampled");

        foreach (var id in new[] { "story", "latency", "shares", "queue" })
        {
            Assert.Contains($"id=\"chart-{id}\"", charts);
        }

        Assert.Contains("data-series=\"upstream calls/s\"", charts);
        Assert.Contains("data-health=\"backend\" class=\"up\"", charts);
        Assert.Contains("data-health=\"near\" class=\"off\">off: the embedded memory backend", charts);
        using var status = JsonDocument.Parse(await web.Http.GetStringAsync(new Uri("api/status", UriKind.Relative)));
        Assert.True(status.RootElement.GetProperty("requests").GetInt64() >= 1);
        Assert.True(status.RootElement.GetProperty("upstreamCalls").GetInt64() >= 2); // bash's overview and bugs
    }
}
