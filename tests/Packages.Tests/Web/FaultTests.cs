using System.Net;

namespace Packages.Tests.Web;

public sealed class FaultTests
{
    [Fact]
    public async Task GarbageFromTheTracker_WithNothingCached_Is502WithAClearMessage()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        await web.SetFaultAsync("garbage");

        var api = await web.GetReplyAsync("api/packages/kernel/bugs");
        Assert.Equal(HttpStatusCode.BadGateway, api.Status);
        Assert.Contains("\"error\"", api.Body);
        Assert.Contains("invalid JSON", api.Body);
        Assert.Contains("no copy of the bugs of 'kernel' is cached", api.Body);

        var page = await web.GetReplyAsync("packages/kernel/bugs");
        Assert.Equal(HttpStatusCode.BadGateway, page.Status);
        Assert.StartsWith("text/html", page.ContentType);
        Assert.Contains("Bug tracker unavailable", page.Body);
    }

    [Fact]
    public async Task FailingTracker_WithNothingCached_Is502_AndTheFailureIsNotCached()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        await web.SetFaultAsync("fail");

        var failed = await web.GetReplyAsync("api/packages/bash/bugs");
        Assert.Equal(HttpStatusCode.BadGateway, failed.Status);
        Assert.Contains("500", failed.Body);
        Assert.Equal("miss", failed.Cache);
        Assert.Equal(1, await web.MetricAsync("dogpile_creation_failures_total"));

        await web.SetFaultAsync("none");
        var recovered = await web.GetReplyAsync("api/packages/bash/bugs");
        Assert.Equal(HttpStatusCode.OK, recovered.Status);
        Assert.Equal("miss", recovered.Cache);
    }

    [Fact]
    public async Task UnknownPackage_Is404_AsPageAndJson_AndTheAnswerIsCached()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var api = await web.GetReplyAsync("api/packages/no-such-package/bugs");
        Assert.Equal(HttpStatusCode.NotFound, api.Status);
        Assert.Equal("""{"error":"no package named 'no-such-package'"}""", api.Body);
        Assert.Equal("miss", api.Cache);

        var page = await web.GetReplyAsync("packages/no-such-package/bugs");
        Assert.Equal(HttpStatusCode.NotFound, page.Status);
        Assert.StartsWith("text/html", page.ContentType);
        Assert.Contains("No such package", page.Body);
        Assert.Equal("hit", page.Cache); // "no such package" is an answer, cached and expiring like any other
    }
}
