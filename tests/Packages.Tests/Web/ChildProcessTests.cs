using System.Diagnostics;
using System.Net;

namespace Packages.Tests.Web;

/// <summary>The app as a user runs it: <c>dotnet Packages.Web.dll --urls ...</c> in its own process, with the embedded simulator.</summary>
public sealed class ChildProcessTests
{
    [Fact]
    public async Task EmbeddedApp_PrintsItsUrl_AndServesMissThenHit()
    {
        await using var child = await AppProcess.StartWebAsync("--Upstream:DelayScale", "0.02");
        using var http = new HttpClient { BaseAddress = child.Address, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("ok", await http.GetStringAsync(new Uri("healthz", UriKind.Relative)));
        Assert.Contains("<a href=\"/packages/kernel/bugs\">kernel</a>", await http.GetStringAsync(new Uri("", UriKind.Relative)));

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
    public async Task RedisWithoutConnection_ExitsWithAClearError()
    {
        using var process = Process.Start(AppProcess.WebStartInfo("--Cache:Backend", "redis"))!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("error: Cache:Connection is required with Cache:Backend redis", await error);
        Assert.DoesNotContain("open http", await output);
    }
}
