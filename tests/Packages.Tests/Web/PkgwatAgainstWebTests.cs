using System.Text.Json;
using Packages.Tests.Pkgwat;
using Pkgwat;

namespace Packages.Tests.Web;

/// <summary>Every pkgwat command against the real app (and its simulator), human and <c>--json</c>: the two agree on routes, JSON and headers.</summary>
public sealed class PkgwatAgainstWebTests : IAsyncLifetime
{
    private WebAppHarness _web = null!;

    private string Url => _web.Address.ToString();

    public async Task InitializeAsync() => _web = await WebAppHarness.StartAsync(delayScale: 0);

    public async Task DisposeAsync() => await _web.DisposeAsync();

    [Fact]
    public async Task Search_FindsFirefox_AndSaysHowTheListWasServed()
    {
        var run = await PkgwatRun.RunAsync(["search", "fire", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Contains(run.OutputLines, l => l.StartsWith("| firefox ", StringComparison.Ordinal));
        Assert.Matches(@"^page 1 of 1: 1-\d+ of \d+ packages matching 'fire'$", run.OutputLines[^2]);
        Assert.Equal("served: miss, waited", run.OutputLines[^1][..20]);
        Assert.EndsWith("fetched by this request (region packages)", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Search_Json_PagesTheMatches_WithTheCacheState()
    {
        var all = await PkgwatRun.RunAsync(["search", "python", "--json", "--limit", "1000", "--url", Url]);
        var second = await PkgwatRun.RunAsync(["search", "python", "--json", "--limit", "3", "--page", "2", "--url", Url]);

        using var allJson = JsonDocument.Parse(all.Output);
        using var json = JsonDocument.Parse(second.Output);
        var names = allJson.RootElement.GetProperty("packages").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.True(names.Count > 6, $"only {names.Count} python packages");
        var root = json.RootElement;
        Assert.Equal(names.Skip(3).Take(3), root.GetProperty("packages").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(names.Count, root.GetProperty("total").GetInt32());
        Assert.Equal((names.Count + 2) / 3, root.GetProperty("pages").GetInt32());
        Assert.Equal(2, root.GetProperty("page").GetInt32());
        Assert.Equal("fresh", root.GetProperty("cache").GetProperty("state").GetString());
        Assert.Equal("packages", root.GetProperty("cache").GetProperty("region").GetString());
    }

    [Fact]
    public async Task Info_ShowsTheOverview_ThenAHitTheSecondTime()
    {
        var cold = await PkgwatRun.RunAsync(["info", "kernel", "--url", Url]);
        var warm = await PkgwatRun.RunAsync(["info", "kernel", "--url", Url]);

        Assert.Equal(ExitCodes.Success, cold.ExitCode);
        Assert.Equal("Name         kernel", cold.OutputLines[0]);
        Assert.Contains(cold.OutputLines, l => l.StartsWith("Version      ", StringComparison.Ordinal));
        Assert.Contains(cold.OutputLines, l => l.StartsWith("Maintainer   ", StringComparison.Ordinal));
        Assert.EndsWith("fetched by this request (region info)", cold.OutputLines[^1]);
        Assert.Matches(@"^served: fresh, age \d+s \(region info\)$", warm.OutputLines[^1]);
    }

    [Fact]
    public async Task Info_Json_IsTheAppsOverviewWithTheCacheState()
    {
        var run = await PkgwatRun.RunAsync(["info", "bash", "--json", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal("bash", json.RootElement.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("version").GetString()));
        var cache = json.RootElement.GetProperty("cache");
        Assert.Equal("miss", cache.GetProperty("state").GetString());
        Assert.Equal("this-request", cache.GetProperty("fetchedBy").GetString());
        Assert.True(cache.GetProperty("waitedMs").GetInt64() >= 0);
    }

    [Fact]
    public async Task Info_UnknownPackage_Exit1WithTheAppsAnswer()
    {
        var run = await PkgwatRun.RunAsync(["info", "no-such-package", "--url", Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("error: no package named 'no-such-package'" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task Bugs_ShowsOnePageOfOpenBugs_NotAll1500()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("", run.Error);
        var rows = run.OutputLines.Where(l => l.Length > 2 && char.IsDigit(l[2])).ToList();
        Assert.Equal(CommandLine.DefaultLimit, rows.Count);
        Assert.DoesNotContain(rows, r => r.Contains("| CLOSED ", StringComparison.Ordinal) || r.Contains("| VERIFIED ", StringComparison.Ordinal));
        Assert.All(run.OutputLines, l => Assert.True(l.Length <= 80, l));
        Assert.Matches(@"^page 1 of \d+: 1-25 of \d+ open bugs of kernel$", run.OutputLines[^4]);
        Assert.Matches(@"^open \d+, closed \d+, all 1500$", run.OutputLines[^3]);
        Assert.Equal("next: pkgwat bugs kernel --page 2", run.OutputLines[^2]);
        Assert.StartsWith("served: miss", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Bugs_Json_FollowsStatusLimitAndPage_AndAgreesWithTheHumanPage()
    {
        var json1 = await PkgwatRun.RunAsync(["bugs", "kernel", "--status", "closed", "--limit", "7", "--page", "2", "--json", "--url", Url]);
        var human = await PkgwatRun.RunAsync(["bugs", "kernel", "--status", "closed", "--limit", "7", "--page", "2", "--url", Url]);

        Assert.Equal(ExitCodes.Success, json1.ExitCode);
        using var json = JsonDocument.Parse(json1.Output);
        var root = json.RootElement;
        Assert.Equal("closed", root.GetProperty("status").GetString());
        Assert.Equal(2, root.GetProperty("page").GetInt32());
        Assert.Equal(7, root.GetProperty("limit").GetInt32());
        var bugs = root.GetProperty("bugs").EnumerateArray().ToList();
        Assert.Equal(7, bugs.Count);
        Assert.All(bugs, b => Assert.Contains(b.GetProperty("status").GetString(), new[] { "VERIFIED", "CLOSED" }));
        Assert.Equal("miss", root.GetProperty("cache").GetProperty("state").GetString());
        foreach (var bug in bugs)
        {
            Assert.Contains(human.OutputLines, l => l.StartsWith($"| {bug.GetProperty("id").GetInt64()} ", StringComparison.Ordinal));
        }

        Assert.Matches(@"^served: fresh, age \d+s \(region bugs\)$", human.OutputLines[^1]);
        Assert.Contains(human.OutputLines, l => l == "next: pkgwat bugs kernel --status closed --page 3");
    }

    [Fact]
    public async Task Bugs_PastTheLastPage_SaysSo()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--status", "all", "--limit", "1000", "--page", "3", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("page 3 of 2: no bugs on this page (1500 bugs of kernel)", run.OutputLines[0]);
    }

    [Fact]
    public async Task Bugs_UnknownPackage_FailsWithTheAppsAnswer()
    {
        var run = await PkgwatRun.RunAsync(["bugs", "no-such-package", "--url", Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Contains("no package named 'no-such-package'", run.Error);
    }

    [Fact]
    public async Task Bugs_TrackerFailingAndNothingCached_TheApps502ExplanationReachesTheUser_Exit3()
    {
        await _web.SetFaultAsync("fail");

        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", Url]);
        var json = await PkgwatRun.RunAsync(["bugs", "kernel", "--json", "--url", Url]);

        Assert.Equal(ExitCodes.AppError, run.ExitCode);
        Assert.Equal("", run.Output);
        Assert.StartsWith($"error: the packages app at {Url.TrimEnd('/')} answered 502 Bad Gateway for the bugs of 'kernel': The bug tracker failed and no copy of the bugs of 'kernel' is cached yet", run.Error);
        Assert.Equal(ExitCodes.AppError, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Output);
        Assert.Equal(502, doc.RootElement.GetProperty("status").GetInt32());
        Assert.Contains("The bug tracker failed", doc.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Timeout_LongerThanTheAppsUpstreamTimeout_LetsTheApps502ExplanationThrough()
    {
        // The real numbers scaled down: the app gives the tracker 1 s (not 30), pkgwat waits 4 s (not 45).
        await using var web = await WebAppHarness.StartAsync(delayScale: 0, settings: ["--Upstream:TimeoutSeconds", "1"]);
        await web.SetFaultAsync("slow", delayMs: 10_000);

        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--timeout", "4", "--url", web.Address.ToString()]);

        Assert.Equal(ExitCodes.AppError, run.ExitCode);
        Assert.StartsWith("error: the packages app at", run.Error);
        Assert.Contains("answered 502 Bad Gateway for the bugs of 'kernel': The bug tracker failed and no copy of the bugs of 'kernel' is cached yet", run.Error);
    }

    [Fact]
    public async Task Timeout_TheOptionCutsASlowAnswerShort_Exit4()
    {
        await _web.SetFaultAsync("slow", delayMs: 5000);

        var started = DateTime.UtcNow;
        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--timeout", "0.5", "--url", Url]);

        Assert.Equal(ExitCodes.Unreachable, run.ExitCode);
        Assert.Equal(
            $"error: the packages app at {Url.TrimEnd('/')} did not answer the bugs of 'kernel' within 0.5s (--timeout or PKGWAT_TIMEOUT to wait longer)" + Environment.NewLine,
            run.Error);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(4), "pkgwat waited for the slow tracker instead of its timeout");
    }

    [Fact]
    public async Task Timeout_FromTheEnvironment_AppliesWhenTheOptionIsAbsent()
    {
        await _web.SetFaultAsync("slow", delayMs: 5000);

        var run = await PkgwatRun.RunAsync(["bugs", "kernel", "--url", Url], new PkgwatEnvironment(Width: 80, DefaultTimeout: "0.5"));

        Assert.Equal(ExitCodes.Unreachable, run.ExitCode);
        Assert.Contains("within 0.5s", run.Error);
    }

    [Fact]
    public async Task Bug_ShowsOneBug_HumanAndJson()
    {
        var page = await PkgwatRun.RunAsync(["bugs", "bash", "--limit", "1", "--json", "--url", Url]);
        using var pageJson = JsonDocument.Parse(page.Output);
        var first = pageJson.RootElement.GetProperty("bugs")[0];
        var id = first.GetProperty("id").GetInt64();

        var human = await PkgwatRun.RunAsync(["bug", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--url", Url]);
        var json = await PkgwatRun.RunAsync(["bug", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", "--url", Url]);

        Assert.Equal(ExitCodes.Success, human.ExitCode);
        Assert.Equal($"Bug       {id}", human.OutputLines[0]);
        Assert.Equal("Package   bash", human.OutputLines[1]);
        Assert.Contains(human.OutputLines, l => l.StartsWith("Reported  ", StringComparison.Ordinal));
        Assert.EndsWith("(region bug)", human.OutputLines[^1]);
        using var doc = JsonDocument.Parse(json.Output);
        Assert.Equal(id, doc.RootElement.GetProperty("id").GetInt64());
        Assert.Equal(first.GetProperty("summary").GetString(), doc.RootElement.GetProperty("summary").GetString());
        Assert.Equal("fresh", doc.RootElement.GetProperty("cache").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Bug_Unknown_Exit1()
    {
        var run = await PkgwatRun.RunAsync(["bug", "999999999", "--url", Url]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("error: no bug 999999999" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task Stampede_OneTrackerCallForAllTheRequests()
    {
        var run = await PkgwatRun.RunAsync(["stampede", "-n", "40", "--package", "firefox", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal("40 concurrent requests for the bugs of firefox (dropped from the cache first):", run.OutputLines[0]);
        // With no tracker latency some requests arrive after the value is stored: they are hits, not waiters.
        var counts = System.Text.RegularExpressions.Regex.Match(run.OutputLines[1], @"^  1 reached the bug tracker, (\d+) waited for that call, (\d+) found it cached$");
        Assert.True(counts.Success, run.OutputLines[1]);
        Assert.Equal(39, int.Parse(counts.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + int.Parse(counts.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Matches(@"^  40 answered 200 in \d+ ms$", run.OutputLines[2]);
    }

    [Fact]
    public async Task Stampede_Json_IsTheAppsCount()
    {
        var run = await PkgwatRun.RunAsync(["stampede", "--requests", "10", "--package", "bash", "--json", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal(10, json.RootElement.GetProperty("requests").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("upstreamCalls").GetInt32());
        Assert.Equal(10, json.RootElement.GetProperty("ok").GetInt32());
        Assert.Equal(1, await _web.UpstreamCallsAsync("bash"));
    }

    [Fact]
    public async Task Stampede_UnknownPackage_TheAppRefuses_Exit2()
    {
        var run = await PkgwatRun.RunAsync(["stampede", "--package", "no-such-package", "--url", Url]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.EndsWith("answered 400 Bad Request for the stampede: package is the name of a package the tracker knows" + Environment.NewLine, run.Error);
    }

    [Fact]
    public async Task Watch_PrintsOneLineASample_AndStopsAfterCount()
    {
        var run = await PkgwatRun.RunAsync(["watch", "--count", "2", "--interval", "0.2", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(3, run.OutputLines.Length);
        Assert.StartsWith("UTC       REQ/S TRACKER/S  P50 MS  P99 MS", run.OutputLines[0]);
        Assert.All(run.OutputLines[1..], l => Assert.Matches(@"^\d\d:\d\d:\d\d +\d+ +\d+ .* (up|DOWN)$", l));
        Assert.NotEqual(run.OutputLines[1][..8], run.OutputLines[2][..8]);
    }

    [Fact]
    public async Task Watch_RunsUntilInterrupted_Exit130()
    {
        using var interrupt = new CancellationTokenSource(TimeSpan.FromMilliseconds(2500));

        var run = await PkgwatRun.RunAsync(["watch", "--interval", "0.2", "--url", Url], cancellationToken: interrupt.Token);

        Assert.Equal(ExitCodes.Interrupted, run.ExitCode);
        Assert.Equal("interrupted" + Environment.NewLine, run.Error);
        Assert.True(run.OutputLines.Length >= 2, run.Output);
    }

    [Fact]
    public async Task Watch_Json_PrintsOneSampleALine()
    {
        var run = await PkgwatRun.RunAsync(["watch", "--count", "2", "--interval", "0.2", "--json", "--url", Url]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(2, run.OutputLines.Length);
        var samples = run.OutputLines.Select(l => JsonDocument.Parse(l)).ToList();
        Assert.All(samples, s => Assert.True(s.RootElement.TryGetProperty("upstreamCalls", out _)));
        Assert.True(samples[1].RootElement.GetProperty("at").GetDateTimeOffset() > samples[0].RootElement.GetProperty("at").GetDateTimeOffset());
        samples.ForEach(s => s.Dispose());
    }
}
