using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Packages.Tests.Web;

/// <summary>The pages a visitor of Fedora Packages expects: overview, paged and filtered bug lists, one bug, and their JSON.</summary>
public sealed partial class PackagePagesTests
{
    private static readonly string[] ClosedStatuses = ["CLOSED", "VERIFIED"];

    [Fact]
    public async Task Overview_ShowsSummaryCountsByStatusAndLinks()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        using var info = JsonDocument.Parse(await web.Upstream.GetStringAsync("packages/kernel"));
        var bugs = await AllBugsAsync(web, "kernel");

        var page = await web.GetReplyAsync("packages/kernel");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains(WebUtility.HtmlEncode(info.RootElement.GetProperty("summary").GetString()!), page.Body);
        var open = bugs.Count(b => !ClosedStatuses.Contains(b.Status));
        Assert.Contains($"<strong>{open}</strong> open</a>", page.Body);
        Assert.Contains($"<strong>{bugs.Count - open}</strong> closed</a>", page.Body);
        Assert.Contains($"<strong>{bugs.Count}</strong> in all</a>", page.Body);
        foreach (var group in bugs.GroupBy(b => b.Status))
        {
            Assert.Contains($"\">{group.Key}</span></td><td>{group.Count()}</td></tr>", page.Body);
        }

        Assert.Contains("href=\"/packages/kernel/bugs?status=open\"", page.Body);
        Assert.Contains("href=\"/api/packages/kernel\"", page.Body);
        Assert.Equal(2, BadgeRegions().Count(page.Body)); // the overview and the bug list, each with its badge
    }

    [Fact]
    public async Task Overview_OfAnUnknownPackage_Is404()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var page = await web.GetReplyAsync("packages/no-such-package");
        var api = await web.GetReplyAsync("api/packages/no-such-package");

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (page.Status, api.Status));
        Assert.Contains("No such package", page.Body);
    }

    [Theory]
    [InlineData("open")]
    [InlineData("closed")]
    [InlineData("all")]
    public async Task BugsPage_IsPagedAndFiltered_WithCorrectCounts(string status)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        var bugs = await AllBugsAsync(web, "kernel");
        var expected = bugs.Where(b => status == "all" || (status == "closed") == ClosedStatuses.Contains(b.Status)).ToList();
        var pages = (expected.Count + 49) / 50;

        var first = await web.GetReplyAsync($"packages/kernel/bugs?status={status}");
        var last = await web.GetReplyAsync($"packages/kernel/bugs?status={status}&page={pages}");

        Assert.Contains($"<span class=\"bug-count\">{expected.Count} {(status == "all" ? "" : status + " ")}bugs</span>", first.Body);
        Assert.Contains($"Page 1 of {pages}", first.Body);
        Assert.Equal(expected.Take(50).Select(b => b.Id), BugLinks().Matches(first.Body).Select(m => long.Parse(m.Groups[1].Value)));
        Assert.Equal(expected.Skip((pages - 1) * 50).Select(b => b.Id), BugLinks().Matches(last.Body).Select(m => long.Parse(m.Groups[1].Value)));
        Assert.Contains("rel=\"next\"", first.Body);
        Assert.DoesNotContain("rel=\"next\"", last.Body);
        Assert.DoesNotContain("bugzilla.redhat.com", first.Body);
    }

    [Fact]
    public async Task BugsPage_OpenFilter_ListsNoClosedOrVerifiedBug()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var page = await web.GetReplyAsync("packages/kernel/bugs");

        Assert.Contains("class=\"active\">Open (", page.Body);
        Assert.DoesNotContain(">CLOSED</span>", page.Body);
        Assert.DoesNotContain(">VERIFIED</span>", page.Body);
    }

    [Theory]
    [InlineData("packages/kernel/bugs?status=fixed")]
    [InlineData("packages/kernel/bugs?page=0")]
    [InlineData("api/packages/kernel/bugs?limit=100000")]
    [InlineData("bugs/abc")]
    [InlineData("api/bugs/-1")]
    public async Task BadQueries_Are400(string path)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        Assert.Equal(HttpStatusCode.BadRequest, (await web.GetReplyAsync(path)).Status);
    }

    [Fact]
    public async Task BugsApi_WithPaging_AnswersOnePageWithTheCounts()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        var bugs = await AllBugsAsync(web, "kernel");
        var open = bugs.Where(b => !ClosedStatuses.Contains(b.Status)).ToList();

        var reply = await web.GetReplyAsync("api/packages/kernel/bugs?status=open&page=2&limit=10");

        using var json = JsonDocument.Parse(reply.Body);
        var root = json.RootElement;
        Assert.Equal(open.Count, root.GetProperty("total").GetInt32());
        Assert.Equal(bugs.Count, root.GetProperty("counts").GetProperty("all").GetInt32());
        Assert.Equal((open.Count + 9) / 10, root.GetProperty("pages").GetInt32());
        Assert.Equal(open.Skip(10).Take(10).Select(b => b.Id), root.GetProperty("bugs").EnumerateArray().Select(b => b.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task BugPage_ShowsTheBugFromTheBugRegion_AndLinksToTheSimulatorsOwnPage()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        var bug = (await AllBugsAsync(web, "bash"))[0];

        var miss = await web.GetReplyAsync($"bugs/{bug.Id}");
        var hit = await web.GetReplyAsync($"api/bugs/{bug.Id}");

        Assert.Equal((HttpStatusCode.OK, "miss", "hit"), (miss.Status, miss.Cache, hit.Cache));
        Assert.Contains(WebUtility.HtmlEncode(bug.Summary), miss.Body);
        Assert.Contains("data-region=\"bug\"", miss.Body);
        var tracker = new Uri(web.Upstream.Server.BaseAddress, $"show_bug/{bug.Id}");
        Assert.Contains($"href=\"{tracker.AbsoluteUri}\"", miss.Body);
        using var onTracker = await web.Upstream.Http.GetAsync(tracker);
        Assert.Equal(HttpStatusCode.OK, onTracker.StatusCode);
        Assert.Contains(WebUtility.HtmlEncode(bug.Summary), await onTracker.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(hit.Body);
        Assert.Equal("bash", json.RootElement.GetProperty("package").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await web.GetReplyAsync("bugs/1")).Status);
    }

    [Fact]
    public async Task Regions_EachCallTheirOwnTrackerEndpoint()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        var bug = (await AllBugsAsync(web, "bash"))[0];

        await web.GetReplyAsync("packages/bash");
        await web.GetReplyAsync("packages/bash");
        await web.GetReplyAsync($"bugs/{bug.Id}");
        await web.GetReplyAsync($"bugs/{bug.Id}");

        using var stats = JsonDocument.Parse(await web.Upstream.GetStringAsync("stats/endpoints"));
        // bugs: the test's own read of the list above, and the app's one fill.
        Assert.Equal((2, 1, 1), (stats.RootElement.GetProperty("bugs").GetInt32(), stats.RootElement.GetProperty("info").GetInt32(), stats.RootElement.GetProperty("bug").GetInt32()));
        Assert.Equal(1, await web.MetricAsync("dogpile_hits_total", "info"));
        Assert.Equal(1, await web.MetricAsync("dogpile_hits_total", "bug"));
    }

    internal static async Task<List<(long Id, string Summary, string Status)>> AllBugsAsync(WebAppHarness web, string package)
    {
        using var json = JsonDocument.Parse(await web.Upstream.GetStringAsync($"bugs/{package}"));
        return json.RootElement.GetProperty("bugs").EnumerateArray()
            .Select(b => (b.GetProperty("id").GetInt64(), b.GetProperty("summary").GetString()!, b.GetProperty("status").GetString()!))
            .ToList();
    }

    [GeneratedRegex("<tr><td><a href=\"/bugs/([0-9]+)\">")]
    private static partial Regex BugLinks();

    [GeneratedRegex("<div class=\"badge badge-[a-z-]+\" data-cache-state=")]
    private static partial Regex BadgeRegions();
}
