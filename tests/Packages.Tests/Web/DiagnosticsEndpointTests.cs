using System.Net;
using System.Text.Json;
using Dogpile;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Packages.Tests.Upstream;
using Packages.Web;
using Packages.Web.Endpoints;

namespace Packages.Tests.Web;

/// <summary><c>GET /diagnostics/memory</c>, which the soak benchmark (bench/Dogpile.Soak) reads the heap from.</summary>
public sealed class DiagnosticsEndpointTests
{
    [Fact]
    public async Task Memory_Enabled_ReportsTheHeapAfterGcAndTheEntriesHeld()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await using var app = await StartAsync(upstream, "--Diagnostics:Enabled", "true");
        using var http = new HttpClient { BaseAddress = PackagesWebApp.GetAddress(app) };
        (await http.GetAsync(new Uri("api/packages/bash/bugs", UriKind.Relative))).EnsureSuccessStatusCode();
        (await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative))).EnsureSuccessStatusCode();

        using var response = await http.GetAsync(new Uri("diagnostics/memory", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.True(root.GetProperty("heapAfterGcBytes").GetInt64() > 0);
        Assert.True(root.GetProperty("committedBytes").GetInt64() >= root.GetProperty("heapSizeBytes").GetInt64());
        Assert.True(root.GetProperty("gen2Collections").GetInt32() >= 2); // the endpoint's own two full collections
        var bugs = root.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "bugs");
        Assert.Equal(2, bugs.GetProperty("entries").GetInt32());
    }

    [Fact]
    public async Task Memory_NotEnabled_IsNotFound()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await using var app = await StartAsync(upstream);
        using var http = new HttpClient { BaseAddress = PackagesWebApp.GetAddress(app) };

        using var response = await http.GetAsync(new Uri("diagnostics/memory", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("192.0.2.10")]
    [InlineData("2001:db8::1")]
    [InlineData("::ffff:192.0.2.10")]
    public async Task Memory_FromANonLoopbackAddress_IsForbidden(string remote)
    {
        // Kestrel here listens on loopback only, so a remote caller is simulated on the handler itself.
        await using var upstream = await UpstreamHarness.StartAsync();
        await using var app = await StartAsync(upstream, "--Diagnostics:Enabled", "true");
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);

        var result = DiagnosticsEndpoints.GetMemory(context, app.Services.GetRequiredService<ICacheRegionProvider>());

        Assert.Equal(StatusCodes.Status403Forbidden, Assert.IsAssignableFrom<IStatusCodeHttpResult>(result).StatusCode);
    }

    [Fact]
    public async Task Memory_FromIPv4LoopbackMappedToIPv6_IsAnswered()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await using var app = await StartAsync(upstream, "--Diagnostics:Enabled", "true");
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("::ffff:127.0.0.1");

        var result = DiagnosticsEndpoints.GetMemory(context, app.Services.GetRequiredService<ICacheRegionProvider>());

        Assert.NotEqual(StatusCodes.Status403Forbidden, (result as IStatusCodeHttpResult)?.StatusCode);
    }

    private static async Task<WebApplication> StartAsync(UpstreamHarness upstream, params string[] args)
    {
        var app = PackagesWebApp.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--Upstream:Url", upstream.Server.BaseAddress.ToString(),
            "--Logging:LogLevel:Default", "Warning",
            .. args,
        ]);
        await app.StartAsync();
        return app;
    }
}
