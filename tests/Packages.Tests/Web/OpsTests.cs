using System.Net;
using System.Text.Json;

namespace Packages.Tests.Web;

public sealed class OpsTests
{
    [Fact]
    public async Task Healthz_AnswersFromTheHealthChecks_AsJson()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await web.GetReplyAsync("healthz");

        // The embedded memory backend has no check of its own: healthy, with an empty list.
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("application/json", reply.ContentType);
        using var body = System.Text.Json.JsonDocument.Parse(reply.Body);
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Array, body.RootElement.GetProperty("checks").ValueKind);
    }

    [Fact]
    public async Task Status_ShowsConfigurationAndFigures()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await web.GetReplyAsync("status");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("text/html", reply.ContentType);
        Assert.Contains("dogpile_stale_served_total", reply.Body);
        Assert.Contains("<td>memory</td>", reply.Body);
        Assert.Contains(web.Upstream.Server.BaseAddress.ToString(), reply.Body);
    }

    [Fact]
    public async Task Home_ListsEveryPackage_WithLinksToTheirOverviews()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await web.GetReplyAsync("");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("text/html", reply.ContentType);
        Assert.Contains("<a href=\"/packages/kernel\">kernel</a>", reply.Body);
        Assert.Contains("<form class=\"search\" method=\"get\" action=\"/\">", reply.Body);
    }

    [Fact]
    public async Task BugsPage_IsATableOfTheBugs()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        var json = await web.GetReplyAsync("api/packages/perl-DBI/bugs");

        var page = await web.GetReplyAsync("packages/perl-DBI/bugs?status=all");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("hit", page.Cache);
        Assert.NotNull(page.Age);
        using var bugs = JsonDocument.Parse(json.Body);
        var all = bugs.RootElement.GetProperty("bugs").EnumerateArray().ToList();
        Assert.InRange(all.Count, 1, 50); // a small package's bugs fit on one page
        foreach (var bug in all)
        {
            var id = bug.GetProperty("id").GetInt64();
            Assert.Contains($"<a href=\"/bugs/{id}\">{id}</a></td><td><span class=\"status status-", page.Body);
            Assert.Contains($"\">{WebUtility.HtmlEncode(bug.GetProperty("status").GetString())}</span></td>", page.Body);
        }
    }

    [Fact]
    public async Task BugsApi_IsTheTrackersJson()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var miss = await web.GetReplyAsync("api/packages/firefox/bugs");
        var hit = await web.GetReplyAsync("api/packages/firefox/bugs");

        Assert.Equal("application/json; charset=utf-8", miss.ContentType);
        Assert.Equal(await web.Upstream.GetStringAsync("bugs/firefox"), miss.Body);
        Assert.Equal(miss.Body, hit.Body);
    }

    [Fact]
    public async Task SearchApi_FindsMatchingPackages_FromTheCachedList()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var first = await web.GetReplyAsync("api/packages?search=fire");
        var second = await web.GetReplyAsync("api/packages?search=KERNEL");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        using var json = JsonDocument.Parse(first.Body);
        var names = json.RootElement.GetProperty("packages").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("firefox", names);
        Assert.All(names, n => Assert.Contains("fire", n, StringComparison.OrdinalIgnoreCase));
        Assert.Equal("miss", first.Cache);
        Assert.Equal("hit", second.Cache); // one cached list serves every search
        Assert.Contains("\"kernel\"", second.Body);
    }

    [Fact]
    public async Task UnknownPath_Is404Page()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await web.GetReplyAsync("no/such/page");

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.StartsWith("text/html", reply.ContentType);
    }
}
