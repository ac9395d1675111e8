using System.Net;
using System.Net.Sockets;

namespace Packages.Tests.Web;

/// <summary>The app as a user runs it: <c>dotnet Packages.Web.dll --urls ...</c> in its own process, with the embedded simulator.</summary>
public sealed class ChildProcessTests
{
    [Fact]
    public async Task EmbeddedApp_PrintsItsUrl_AndServesMissThenHit()
    {
        await using var child = await AppProcess.StartWebAsync("--Upstream:DelayScale", "0.02");
        using var http = new HttpClient { BaseAddress = child.Address, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Contains("\"status\":\"healthy\"", await http.GetStringAsync(new Uri("healthz", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains("<a href=\"/packages/kernel\">kernel</a>", await http.GetStringAsync(new Uri("", UriKind.Relative)));

        using var miss = await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative));
        using var hit = await http.GetAsync(new Uri("packages/kernel/bugs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
        Assert.Equal("miss", miss.Headers.GetValues("X-Cache").Single());
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("hit", hit.Headers.GetValues("X-Cache").Single());

        using var tracker = new HttpClient { BaseAddress = child.UpstreamAddress };
        Assert.Contains("\"kernel\":1", await tracker.GetStringAsync(new Uri("stats", UriKind.Relative)));
    }

    [Fact]
    public async Task PortInUse_ExitsWithCode2_AndOneLineSayingHowToPickAnother()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        using var process = AppProcess.StartWeb("--urls", url, "--Upstream:DelayScale", "0");
        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var output = string.Join('\n', process.ReadBufferedLines());

        var line = Assert.Single(process.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {url}: the address is already in use", line, StringComparison.Ordinal);
        Assert.Contains("pick another port with --urls, e.g. --urls http://127.0.0.1:", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("open http", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedisWithoutConnection_ExitsWithAClearError()
    {
        using var process = AppProcess.StartWeb("--Cache:Backend", "redis");
        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        Assert.StartsWith("error: Cache:Connection is required with Cache:Backend redis", process.StandardError);
        Assert.DoesNotContain("open http", string.Join('\n', process.ReadBufferedLines()));
    }
}
