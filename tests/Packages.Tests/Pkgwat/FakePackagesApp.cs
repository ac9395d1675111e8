using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Packages.Tests.Pkgwat;

/// <summary>
/// Stands in for the packages web app (built elsewhere): real Kestrel on a free loopback port serving canned
/// answers in the app's contract, so the CLI is tested over real HTTP against exactly the shapes it must read.
/// </summary>
internal sealed class FakePackagesApp : IAsyncDisposable
{
    public static readonly string[] AllPackages = ["firefox", "firewalld", "kernel", "perl-XML-Parser", "python3-requests"];

    private readonly WebApplication _app;

    private FakePackagesApp(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Base address without a trailing slash, the way a user types it: <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; }

    /// <summary>Path and query of every request, in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public static async Task<FakePackagesApp> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        FakePackagesApp? fake = null;
        app.Use((context, next) =>
        {
            fake!.Requests.Enqueue(context.Request.Path + context.Request.QueryString);
            return next(context);
        });
        Map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        fake = new FakePackagesApp(app, address.TrimEnd('/'));
        return fake;
    }

    private static void Map(WebApplication app)
    {
        app.MapGet("/api/packages/{name}/bugs", (string name, string? status, int? page, int? limit, HttpResponse response) =>
        {
            // The app's paged shape; the fake keeps every bug on one page and echoes the query.
            IResult Page(string package, params object[] bugs) => Results.Json(new
            {
                package,
                status = status ?? "open",
                total = bugs.Length,
                page = page ?? 1,
                pages = 1,
                limit = limit ?? 50,
                counts = new { open = bugs.Length, closed = 0, all = bugs.Length },
                bugs,
            });

            switch (name)
            {
                case "kernel":
                    response.Headers["X-Cache"] = "hit";
                    response.Headers["X-Cache-State"] = "fresh";
                    response.Headers["X-Cache-Region"] = "bugs";
                    response.Headers.Age = "12";
                    return Page(
                        "kernel",
                        new { id = 901234, summary = "BUG: soft lockup - CPU#1 stuck for 22s!", status = "NEW" },
                        new { id = 905678, summary = "Suspend fails on Lenovo ThinkPad T430", status = "ASSIGNED" },
                        new { id = 1000001, summary = "CVE-2013-0871 kernel: ptrace race", status = "ON_QA" });
                case "firefox":
                    // One summary far wider than any terminal, one with an escape sequence and a newline.
                    response.Headers["X-Cache"] = "miss";
                    response.Headers["X-Cache-State"] = "miss";
                    response.Headers["X-Cache-Waited-Ms"] = "61";
                    response.Headers["X-Cache-Fetched-By"] = "another-request";
                    return Page(
                        "firefox",
                        new { id = 800001, summary = "firefox: " + string.Concat(Enumerable.Repeat("crashes when opening a large file ", 10)), status = "NEW" },
                        new { id = 800002, summary = "evil\u001b[31m red\nnewline", status = "CLOSED" });
                case "perl-XML-Parser":
                    response.Headers["X-Cache"] = "stale";
                    response.Headers["X-Cache-State"] = "stale-if-error";
                    response.Headers["X-Cache-Failing-Since"] = "2026-01-02T03:04:05Z";
                    response.Headers.Age = "600";
                    return Page("perl-XML-Parser", new { id = 700001, summary = "perl-XML-Parser: FTBFS", status = "NEW" });
                case "quiet":
                    return Page("quiet");
                case "broken":
                    return Results.Text("""{"package": "broken", "bugs": [{"id": 1, "summ""", "application/json");
                case "down":
                    return Results.Json(new { error = "upstream bug tracker failed" }, statusCode: 502);
                default:
                    return Results.Json(new { error = $"no package named '{name}'" }, statusCode: 404);
            }
        });
        app.MapGet("/api/packages", (string? search) => Results.Json(new
        {
            packages = AllPackages.Where(p => search is null || p.Contains(search, StringComparison.OrdinalIgnoreCase)),
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
