using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Pkgwat;

namespace Packages.Tests.Pkgwat;

/// <summary>
/// pkgwat against a fake of the app that serves what the real one rarely does (escape sequences, broken JSON, every
/// cache header); the commands against the real app are in <c>Web/PkgwatAgainstWebTests</c>.
/// </summary>
public sealed class PkgwatCommandTests : IAsyncLifetime
{
    private FakePackagesApp _app = null!;

    public async Task InitializeAsync() => _app = await FakePackagesApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Bugs_PrintsATable_PageLine_AndHowTheCacheServedIt()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Equal(
            [
                "+---------+----------+-----------------------------------------+",
                "| ID      | STATUS   | SUMMARY                                 |",
                "|---------+----------+-----------------------------------------|",
                "| 901234  | NEW      | BUG: soft lockup - CPU#1 stuck for 22s! |",
                "| 905678  | ASSIGNED | Suspend fails on Lenovo ThinkPad T430   |",
                "| 1000001 | ON_QA    | CVE-2013-0871 kernel: ptrace race       |",
                "+---------+----------+-----------------------------------------+",
                "page 1 of 1: 1-3 of 3 open bugs of kernel",
                "open 3, closed 0, all 3",
                "served: fresh, age 12s (region bugs)",
            ],
            run.OutputLines);
        Assert.Equal(["/api/packages/kernel/bugs?status=open&page=1&limit=25"], _app.Requests);
    }

    [Fact]
    public async Task Bugs_StatusLimitAndPage_GoToTheApp()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--status", "all", "--limit", "2", "--page", "3", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(["/api/packages/kernel/bugs?status=all&page=3&limit=2"], _app.Requests);
    }

    [Fact]
    public async Task Bugs_LongSummaries_StayOnOneLineWithinTheWidth_AndControlCharactersAreBlanked()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "firefox", "--url", _app.Url], new PkgwatEnvironment(Width: 60));

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.All(run.OutputLines, line => Assert.True(line.Length <= 60, $"{line.Length} columns: {line}"));
        var rows = run.OutputLines.Where(l => l.StartsWith("| 8", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        Assert.StartsWith("| 800001 | NEW    | firefox: crashes when opening", rows[0]);
        Assert.EndsWith("... |", rows[0]);
        Assert.Equal("| 800002 | CLOSED | evil [31m red newline", rows[1].TrimEnd('|', ' '));
        Assert.DoesNotContain('\u001b', run.Output);
        Assert.Equal("served: miss, waited 61 ms, fetched by another request", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Bugs_StaleIfError_SaysSinceWhenTheTrackerFails()
    {
        var run = await PkgwatRun.RunAsync(["--url", _app.Url, "bugs", "perl-XML-Parser"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("served: stale-if-error, age 600s, tracker failing since 2026-01-02T03:04:05Z", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Bugs_Json_IsTheAppsPageWithEveryCacheHeader()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "perl-XML-Parser", "--json", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.Equal("perl-XML-Parser", root.GetProperty("package").GetString());
        Assert.Equal(700001, root.GetProperty("bugs")[0].GetProperty("id").GetInt64());
        var cache = root.GetProperty("cache");
        Assert.Equal("stale-if-error", cache.GetProperty("state").GetString());
        Assert.Equal("stale", cache.GetProperty("xCache").GetString());
        Assert.Equal(600, cache.GetProperty("ageSeconds").GetInt64());
        Assert.Equal("2026-01-02T03:04:05Z", cache.GetProperty("failingSince").GetString());
    }

    [Fact]
    public async Task Bugs_NoBugsAndNoCacheHeaders_PrintsOnlyThePageLines()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "quiet", $"--url={_app.Url}"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(["page 1 of 1: no bugs on this page (0 open bugs of quiet)", "open 0, closed 0, all 0"], run.OutputLines);
    }

    [Fact]
    public async Task Bugs_UnknownPackage_SaysSoAndExits1()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "no-such-package", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.Equal("error: no package named 'no-such-package'" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task Bugs_ServerError_ReportsStatusAndTheAppsMessage_Exit3()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "down", "--url", _app.Url]);

        Assert.Equal(ExitCodes.AppError, run.ExitCode);
        Assert.Equal(
            $"error: the packages app at {_app.Url} answered 502 Bad Gateway for the bugs of 'down': upstream bug tracker failed" + Environment.NewLine,
            run.Error);
    }

    [Fact]
    public async Task Bugs_ServerError_WithJson_PrintsTheErrorAsJsonToo()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "down", "--json", "--url", _app.Url]);

        Assert.Equal(ExitCodes.AppError, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        Assert.EndsWith("upstream bug tracker failed", json.RootElement.GetProperty("error").GetString());
        Assert.Equal(502, json.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(ExitCodes.AppError, json.RootElement.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Bugs_InvalidJson_ReportsABrokenAnswer_Exit3()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "broken", "--url", _app.Url]);

        Assert.Equal(ExitCodes.AppError, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.StartsWith($"error: the packages app at {_app.Url} sent invalid JSON for the bugs of 'broken'", run.Error);
    }

    [Fact]
    public async Task Bugs_EscapesThePackageNameInThePath()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "a b/c", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal(["/api/packages/a%20b%2Fc/bugs?status=open&page=1&limit=25"], _app.Requests);
    }

    [Fact]
    public async Task Search_PagesTheMatchesWithLimitAndPage()
    {
        var first = await PkgwatRun.RunAsync(["search", "e", "--limit", "2", "--url", _app.Url]);
        var last = await PkgwatRun.RunAsync(["search", "e", "--limit", "2", "--page", "3", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Success, first.ExitCode);
        Assert.Equal(
            ["+-----------+", "| PACKAGE   |", "|-----------|", "| firefox   |", "| firewalld |", "+-----------+", "page 1 of 3: 1-2 of 5 packages matching 'e'"],
            first.OutputLines);
        Assert.Contains("| python3-requests |", last.OutputLines);
        Assert.Contains("page 3 of 3: #5 of 5 packages matching 'e'", last.OutputLines);
        Assert.Equal(["/api/packages?search=e", "/api/packages?search=e"], _app.Requests);
    }

    [Fact]
    public async Task Search_NoMatch_PrintsNothingAndFailsLikeGrep()
    {
        var run = await PkgwatRun.RunAsync(["search", "zzz", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.Equal("no packages match 'zzz'" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task Url_ComesFromTheEnvironment_WhenNotGiven_AndTheOptionWins()
    {
        var fromEnvironment = await PkgwatRun.RunAsync(["search", "kern"], new PkgwatEnvironment(DefaultUrl: _app.Url));
        var optionWins = await PkgwatRun.RunAsync(
            ["search", "kern", "--url", _app.Url], new PkgwatEnvironment(DefaultUrl: "http://127.0.0.1:1"));

        Assert.Contains("| kernel  |", fromEnvironment.OutputLines);
        Assert.Contains("| kernel  |", optionWins.OutputLines);
    }

    [Fact]
    public async Task Unreachable_SaysConnectionRefused_Exit4()
    {
        var url = $"http://127.0.0.1:{FreePort()}";

        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", url]);

        Assert.Equal(ExitCodes.Unreachable, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.Equal($"error: cannot reach the packages app at {url}: connection refused" + Environment.NewLine, run.Error);
    }

    [Theory]
    [InlineData(new string[0], "error: Required command was not provided.")]
    [InlineData(new[] { "bugs" }, "error: Required argument 'package' missing for command: 'bugs'.")]
    [InlineData(new[] { "search" }, "error: Required argument 'text' missing for command: 'search'.")]
    [InlineData(new[] { "bugs", "kernel", "extra" }, "error: Unrecognized command or argument 'extra'.")]
    [InlineData(new[] { "frobnicate", "kernel" }, "error: Unrecognized command or argument 'frobnicate'.")]
    [InlineData(new[] { "bugs", "kernel", "--verbose" }, "error: Unrecognized command or argument '--verbose'.")]
    [InlineData(new[] { "bugs", "kernel", "--url" }, "error: Required argument missing for option: '--url'.")]
    [InlineData(new[] { "bugs", "kernel", "--limit", "0" }, "error: --limit is a number from 1 to 1000")]
    [InlineData(new[] { "bugs", "kernel", "--limit", "1001" }, "error: --limit is a number from 1 to 1000")]
    [InlineData(new[] { "bugs", "kernel", "--limit", "ten" }, "error: Cannot parse argument 'ten' for option '--limit'")]
    [InlineData(new[] { "bugs", "kernel", "--page", "0" }, "error: --page is a number from 1")]
    [InlineData(new[] { "bugs", "kernel", "--status", "new" }, "error: Argument 'new' not recognized. Must be one of:")]
    [InlineData(new[] { "bug", "0" }, "error: a bug id is a positive number")]
    [InlineData(new[] { "bug", "seven" }, "error: Cannot parse argument 'seven' for command 'bug' as expected type 'System.Int64'.")]
    [InlineData(new[] { "stampede", "-n", "201" }, "error: --requests is a number from 1 to 200")]
    [InlineData(new[] { "watch", "--interval", "0" }, "error: --interval is a number of seconds from above 0 to 3600")]
    [InlineData(new[] { "search", "x", "--timeout", "0" }, "error: --timeout is a number of seconds greater than 0")]
    public async Task BadUsage_ExplainsAndExitsWith2(string[] args, string message)
    {
        var run = await PkgwatRun.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.Contains(message, run.Error);
        Assert.EndsWith("Run 'pkgwat --help' for the commands and options." + Environment.NewLine, run.Error);
        Assert.Empty(_app.Requests);
    }

    [Fact]
    public async Task NonHttpUrl_IsRefused_Exit2()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", "ftp://example.org"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("error: --url must be an absolute http:// or https:// URL, got 'ftp://example.org'" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task InvalidUrlInEnvironment_NamesTheVariable()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel"], new PkgwatEnvironment(DefaultUrl: "not a url"));

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("error: PKGWAT_URL must be an absolute http:// or https:// URL, got 'not a url'" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task InvalidTimeoutInEnvironment_NamesTheVariable_AndTheOptionOverridesIt()
    {
        var invalid = await PkgwatRun.RunAsync(["search", "kern", "--url", _app.Url], new PkgwatEnvironment(DefaultTimeout: "soon"));
        var overridden = await PkgwatRun.RunAsync(["search", "kern", "--url", _app.Url, "--timeout", "5"], new PkgwatEnvironment(DefaultTimeout: "soon"));

        Assert.Equal(ExitCodes.Usage, invalid.ExitCode);
        Assert.Equal("error: PKGWAT_TIMEOUT must be a number of seconds greater than 0, got 'soon'" + Environment.NewLine, invalid.Error);
        Assert.Equal(ExitCodes.Success, overridden.ExitCode);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public async Task Help_ListsEveryCommandAndOption_AndSucceeds(string flag)
    {
        var run = await PkgwatRun.RunAsync([flag]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Contains("pkgwat [command] [options]", run.Output);
        foreach (var word in new[] { "search <text>", "info <package>", "bugs <package>", "bug <id>", "stampede", "watch", "--json", "--timeout", "--url", "--version" })
        {
            Assert.Contains(word, run.Output);
        }
    }

    [Fact]
    public async Task CommandHelp_ListsItsOptions()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "--help"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        foreach (var word in new[] { "--status", "--limit", "--page", "--json", "--timeout" })
        {
            Assert.Contains(word, run.Output);
        }
    }

    [Fact]
    public async Task Version_PrintsPkgwatsOwnVersion()
    {
        var run = await PkgwatRun.RunAsync(["--version"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("pkgwat " + CommandLine.Version + Environment.NewLine, run.Output);
        Assert.Matches(@"^pkgwat \d+\.\d+\.\d+", run.Output);
    }

    [Fact]
    public async Task Terminal_GetsStyles_RedirectedOutputNever()
    {
        var terminal = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", _app.Url], new PkgwatEnvironment(Width: 80, Ansi: true));
        var piped = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", _app.Url], new PkgwatEnvironment(Width: 80, Ansi: false));

        Assert.Contains('\u001b', terminal.Output);
        Assert.DoesNotContain('\u001b', piped.Output);
    }

    /// <summary>A loopback port nobody listens on: bind one, note it, let it go.</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
