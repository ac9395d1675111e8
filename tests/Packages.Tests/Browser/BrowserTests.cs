using Microsoft.Playwright;
using Packages.Tests.Web;

namespace Packages.Tests.Browser;

/// <summary>
/// The showcase as a visitor sees it, in a real browser: pages render with their cache badges, the badge follows the
/// value's life (miss, hit, stale, tracker failing), the dashboard draws and the stampede shows one upstream call for
/// N requests, and no page logs a console error. Screenshots go to artifacts/screenshots.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserTests(BrowserFixture browser) : IAsyncLifetime
{
    private IBrowserContext _context = null!;
    private readonly List<string> _consoleErrors = [];

    public async Task InitializeAsync()
    {
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 800 } });
        _context.SetDefaultTimeout(15_000);
    }

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public async Task EveryPage_Renders_WithItsBadge_AndNoConsoleError()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02);
        var bug = (await PackagePagesTests.AllBugsAsync(web, "kernel"))[0];
        var page = await NewPageAsync();

        foreach (var (path, shot, heading) in new[]
        {
            ("", "home", "Fedora Packages"),
            ("?search=python3-", "search", "Packages matching python3-"),
            ("packages/kernel", "overview", "kernel"),
            ("packages/kernel/bugs", "bugs", "Bugs of kernel"),
            ("packages/kernel/bugs?status=closed&page=2", "bugs-closed-page2", "Bugs of kernel"),
            ($"bugs/{bug.Id}", "bug", $"Bug {bug.Id}"),
        })
        {
            var response = await page.GotoAsync(new Uri(web.Address, path).AbsoluteUri);
            Assert.Equal(200, response!.Status);
            Assert.Equal(heading, await page.Locator("h1").InnerTextAsync());
            Assert.True(await page.Locator(".badge").CountAsync() >= 1, $"/{path} shows a cache badge");
            await ShootAsync(page, shot);
        }

        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task Badge_GoesFromMissToHitToStale_ThenToTrackerFailing()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02, expirationSeconds: 2);
        var page = await NewPageAsync();
        var url = new Uri(web.Address, "packages/bash/bugs").AbsoluteUri;

        await page.GotoAsync(url);
        Assert.Equal("miss", await BadgeStateAsync(page));
        await ShootAsync(page, "badge-miss");

        await page.ReloadAsync();
        Assert.Equal("fresh", await BadgeStateAsync(page));
        await ShootAsync(page, "badge-hit");

        await ReloadUntilAsync(page, "stale");
        Assert.Contains("refreshing in the background", await page.Locator(".badge").InnerTextAsync());
        await ShootAsync(page, "badge-stale");

        await web.SetFaultAsync("fail");
        await ReloadUntilAsync(page, "stale-if-error");
        Assert.Contains("The tracker is failing; showing the copy from", await page.Locator(".badge").InnerTextAsync());
        await ShootAsync(page, "badge-tracker-failing");

        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task Dashboard_DrawsCharts_AndTheStampedeShowsOneUpstreamCallForNRequests()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.05);
        var page = await NewPageAsync();
        await page.GotoAsync(new Uri(web.Address, "status").AbsoluteUri);

        await page.FillAsync("#stampede input[name=n]", "40");
        await page.FillAsync("#stampede input[name=package]", "kernel");
        await page.ClickAsync("#stampede button");
        var result = page.Locator("#stampede-result");
        await Assertions.Expect(result).ToContainTextAsync("40 requests for kernel cost 1 upstream call ", new() { Timeout = 30_000 });
        Assert.Equal("1", await result.GetAttributeAsync("data-upstream-calls"));

        // The live charts redraw every second: wait until the story chart has the stampede's second in it.
        await page.WaitForFunctionAsync(
            "() => [...document.querySelectorAll('#chart-story polyline')].some(p => p.getAttribute('points').trim().split(' ').length >= 2)"
            + " && Number(document.querySelector('[data-total=requests]').textContent) >= 40",
            null,
            new() { Timeout = 15_000 });
        Assert.Equal(4, await page.Locator(".chart svg").CountAsync());
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        await ShootAsync(page, "dashboard");

        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task RedisKilled_PageStillRenders_WithTheDegradedBadge()
    {
        await using var redis = Dogpile.Testing.ServerProcess.Redis();
        await redis.StartAsync();
        await using var web = await WebAppHarness.StartAsync(0.02, 300, "--Cache:Backend", "redis", "--Cache:Connection", redis.Endpoint);
        var page = await NewPageAsync();
        redis.Kill();

        var response = await page.GotoAsync(new Uri(web.Address, "packages/bash/bugs").AbsoluteUri);

        Assert.Equal(200, response!.Status);
        Assert.Equal("Bugs of bash", await page.Locator("h1").InnerTextAsync());
        Assert.Equal("degraded", await BadgeStateAsync(page));
        Assert.Contains("served without it", await page.Locator(".badge").First.InnerTextAsync(), StringComparison.Ordinal);
        await ShootAsync(page, "bugs-degraded");
        Assert.Empty(_consoleErrors);
    }

    private async Task<IPage> NewPageAsync()
    {
        var page = await _context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _consoleErrors.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => _consoleErrors.Add($"{page.Url}: {error}");
        return page;
    }

    private static async Task<string?> BadgeStateAsync(IPage page) =>
        await page.Locator(".badge").First.GetAttributeAsync("data-cache-state");

    private static async Task ReloadUntilAsync(IPage page, string state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await BadgeStateAsync(page) != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the badge never showed {state}");
            await Task.Delay(250);
            await page.ReloadAsync();
        }
    }

    private static Task ShootAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = false });
}
