using Packages.Tests.Pkgwat;

namespace Packages.Tests.Web;

/// <summary>The CLI against the real app, not its fake: the two agree on routes, JSON and the cache headers.</summary>
public sealed class PkgwatAgainstWebTests
{
    [Fact]
    public async Task PkgwatBugs_ShowsTheAppsBugs()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var run = await PkgwatRun.RunAsync(["bugs", "bash", "--url", web.Address.ToString()]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Contains("bash", run.Output);
    }

    [Fact]
    public async Task PkgwatSearch_FindsFirefox()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var run = await PkgwatRun.RunAsync(["search", "fire", "--url", web.Address.ToString()]);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("firefox", run.OutputLines);
    }

    [Fact]
    public async Task PkgwatBugs_UnknownPackage_FailsWithTheAppsAnswer()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var run = await PkgwatRun.RunAsync(["bugs", "no-such-package", "--url", web.Address.ToString()]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("no package named 'no-such-package'", run.Error);
    }
}
