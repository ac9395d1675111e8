using System.Net;
using System.Net.Sockets;
using Pkgwat;

namespace Packages.Tests.Pkgwat;

public sealed class PkgwatCommandTests : IAsyncLifetime
{
    private FakePackagesApp _app = null!;

    public async Task InitializeAsync() => _app = await FakePackagesApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Bugs_PrintsAlignedTableAndCacheFooter()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Equal(
            [
                "ID       STATUS    SUMMARY",
                "901234   NEW       BUG: soft lockup - CPU#1 stuck for 22s!",
                "905678   ASSIGNED  Suspend fails on Lenovo ThinkPad T430",
                "1000001  ON_QA     CVE-2013-0871 kernel: ptrace race",
                "3 bugs for kernel (cache: hit, age 12s)",
            ],
            run.OutputLines);
        Assert.Equal(["/api/packages/kernel/bugs"], _app.Requests);
    }

    [Fact]
    public async Task Bugs_LongSummaries_AreTruncatedToTheWidth_AndControlCharactersBlanked()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "firefox", "--url", _app.Url], new PkgwatEnvironment(Width: 60));

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.All(run.OutputLines, line => Assert.True(line.Length <= 60, $"{line.Length} columns: {line}"));
        Assert.StartsWith("800001  NEW     firefox: crashes when opening", run.OutputLines[1]);
        Assert.EndsWith("...", run.OutputLines[1]);
        Assert.Equal("800002  CLOSED  evil [31m red newline", run.OutputLines[2]);
        Assert.DoesNotContain('\u001b', run.Output);
        // A miss has no Age header, so the footer says only what the app told us.
        Assert.Equal("2 bugs for firefox (cache: miss)", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Bugs_StaleAnswer_ShowsStaleAndAge_SingularBug()
    {
        var run = await PkgwatRun.RunAsync(["--url", _app.Url, "bugs", "perl-XML-Parser"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("1 bug for perl-XML-Parser (cache: stale, age 600s)", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Bugs_NoBugsAndNoCacheHeaders_PrintsOnlyTheCount()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "quiet", $"--url={_app.Url}"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(["0 bugs for quiet"], run.OutputLines);
    }

    [Fact]
    public async Task Bugs_UnknownPackage_SaysSoAndFails()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "no-such-package", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.Equal("error: no package named 'no-such-package'" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task Bugs_ServerError_ReportsStatusAndTheAppsMessage()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "down", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal(
            $"error: the packages app at {_app.Url} answered 502 Bad Gateway for the bugs of 'down': upstream bug tracker failed" + Environment.NewLine,
            run.Error);
    }

    [Fact]
    public async Task Bugs_InvalidJson_ReportsABrokenAnswer()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "broken", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.StartsWith($"error: the packages app at {_app.Url} sent invalid JSON for the bugs of 'broken'", run.Error);
    }

    [Fact]
    public async Task Bugs_EscapesThePackageNameInThePath()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "a b/c", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal(["/api/packages/a%20b%2Fc/bugs"], _app.Requests);
    }

    [Fact]
    public async Task Search_PrintsMatchingNamesOnePerLine()
    {
        var run = await PkgwatRun.RunAsync(["search", "fire", "--url", _app.Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("firefox" + Environment.NewLine + "firewalld" + Environment.NewLine, run.Output);
        Assert.Equal(["/api/packages?search=fire"], _app.Requests);
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

        Assert.Equal(["kernel"], fromEnvironment.OutputLines);
        Assert.Equal(["kernel"], optionWins.OutputLines);
    }

    [Fact]
    public async Task Unreachable_SaysConnectionRefused_AndFails()
    {
        var url = $"http://127.0.0.1:{FreePort()}";

        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.Equal($"error: cannot reach the packages app at {url}: connection refused" + Environment.NewLine, run.Error);
    }

    [Theory]
    [InlineData(new string[0], "error: missing command")]
    [InlineData(new[] { "bugs" }, "error: 'bugs' needs a package name")]
    [InlineData(new[] { "search" }, "error: 'search' needs the text to search for")]
    [InlineData(new[] { "bugs", "kernel", "extra" }, "error: 'bugs' takes one argument, got 2")]
    [InlineData(new[] { "frobnicate", "kernel" }, "error: unknown command 'frobnicate'")]
    [InlineData(new[] { "bugs", "kernel", "--verbose" }, "error: unknown option '--verbose'")]
    [InlineData(new[] { "bugs", "kernel", "--url" }, "error: --url needs a value")]
    [InlineData(new[] { "bugs", "kernel", "--url", "ftp://example.org" }, "error: --url must be an absolute http:// or https:// URL, got 'ftp://example.org'")]
    public async Task BadUsage_ExplainsAndExitsWith2(string[] args, string message)
    {
        var run = await PkgwatRun.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.StartsWith(message, run.Error);
        Assert.Empty(_app.Requests);
    }

    [Fact]
    public async Task BadUsage_PrintsUsageText()
    {
        var run = await PkgwatRun.RunAsync(["frobnicate"]);

        Assert.Contains("usage: pkgwat bugs <package> [--url URL]", run.Error);
    }

    [Fact]
    public async Task InvalidUrlInEnvironment_NamesTheVariable()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel"], new PkgwatEnvironment(DefaultUrl: "not a url"));

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("error: PKGWAT_URL must be an absolute http:// or https:// URL, got 'not a url'" + Environment.NewLine, run.Error);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task Help_PrintsUsageToOutput_AndSucceeds(string flag)
    {
        var run = await PkgwatRun.RunAsync([flag]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.StartsWith("usage: pkgwat bugs <package> [--url URL]", run.Output);
        Assert.Equal("", run.Error);
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
