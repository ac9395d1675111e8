using System.Diagnostics;
using System.Net;

namespace Packages.Tests.Web;

/// <summary>
/// The region's clock is the system clock here, so expiry means real waiting. Like the simulator's latency tests,
/// these run alone: on a busy 2-core machine a request racing 300 others can outlast a deliberate delay.
/// </summary>
[CollectionDefinition(nameof(CachingTests), DisableParallelization = true)]
public sealed class WebRealClockGroup;

[Collection(nameof(CachingTests))]
public sealed class CachingTests
{
    [Fact]
    public async Task FirstRequest_IsAMissThatWaitsForTheTracker_LaterRequestsAreFastHits()
    {
        // Kernel takes (100 + 2900) ms x 0.02 = 60 ms upstream; a timer never fires early.
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02);
        await web.GetReplyAsync("healthz"); // connection and JIT warm-up, so the miss pays only for the tracker

        var watch = Stopwatch.StartNew();
        var first = await web.GetReplyAsync("api/packages/kernel/bugs");
        var missTime = watch.Elapsed;

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("miss", first.Cache);
        Assert.Equal(TimeSpan.Zero, first.Age);
        Assert.True(missTime >= TimeSpan.FromMilliseconds(55), $"the miss took {missTime.TotalMilliseconds} ms, less than the tracker's delay");
        Assert.Equal(1500, first.BugCount());

        var hitTimes = new List<TimeSpan>();
        for (var i = 0; i < 11; i++)
        {
            watch.Restart();
            var hit = await web.GetReplyAsync("api/packages/kernel/bugs");
            hitTimes.Add(watch.Elapsed);
            Assert.Equal("hit", hit.Cache);
            Assert.Equal(first.Body, hit.Body);
        }

        var median = hitTimes.Order().ElementAt(hitTimes.Count / 2);
        Assert.True(median < missTime, $"median hit {median.TotalMilliseconds} ms is not faster than the miss ({missTime.TotalMilliseconds} ms)");
        Assert.Equal(1, await web.UpstreamCallsAsync("kernel"));
    }

    [Fact]
    public async Task TwoHundredConcurrentFirstRequests_CallTheTrackerOnce()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02);
        await web.GetReplyAsync("healthz");

        // Hold the tracker for a second so the requests really pile up behind the one creation.
        await web.SetFaultAsync("slow", delayMs: 1000);
        using var start = new ManualResetEventSlim();
        var requests = Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await web.GetReplyAsync("api/packages/kernel/bugs");
        })).ToList();
        start.Set();
        var replies = await Task.WhenAll(requests);

        Assert.All(replies, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(replies, r => Assert.Equal(replies[0].Body, r.Body));
        Assert.All(replies, r => Assert.Contains(r.Cache, new[] { "miss", "hit" }));
        Assert.True(replies.Count(r => r.Cache == "miss") > 1, "no request waited on another's creation: the stampede never happened");
        Assert.Equal(1, await web.UpstreamCallsAsync("kernel"));
        Assert.True(await web.MetricAsync("dogpile_lock_waits_total") >= 1);
    }

    [Fact]
    public async Task AfterExpiry_ServesStaleAtOnceWhileOneRefreshRuns_ThenHitsWithASmallAge()
    {
        // Two seconds, so the refreshed value is still fresh when the polling below sees it on a busy machine.
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02, expirationSeconds: 2);
        Assert.Equal("miss", (await web.GetReplyAsync("api/packages/kernel/bugs")).Cache);

        // The refresh will take 4 s; stale answers must not wait for it. (Half of that is the bound below: a loaded CI
        // machine, with every test assembly running at once, has taken a second to answer 20 requests.)
        await web.SetFaultAsync("slow", delayMs: 4000);
        await Task.Delay(TimeSpan.FromSeconds(2.2));

        var watch = Stopwatch.StartNew();
        var stale = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => web.GetReplyAsync("api/packages/kernel/bugs")));
        var staleTime = watch.Elapsed;

        Assert.All(stale, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(stale, r => Assert.Equal("stale", r.Cache));
        Assert.All(stale, r => Assert.True(r.Age >= TimeSpan.FromSeconds(2), $"a stale value of age {r.Age}"));
        Assert.True(staleTime < TimeSpan.FromSeconds(2), $"20 stale answers took {staleTime.TotalMilliseconds} ms: they waited for the refresh");
        Assert.True(await web.UpstreamCallsAsync("kernel") <= 2, "more than one refresh started"); // its request may still be on the way
        await web.SetFaultAsync("none");

        Reply? fresh = null;
        await Eventually.TrueAsync(
            async () => (fresh = await web.GetReplyAsync("api/packages/kernel/bugs")).Cache == "hit",
            "the refresh stored a fresh value");
        Assert.True(fresh!.Age <= TimeSpan.FromSeconds(1), $"the refreshed value is {fresh.Age} old");
        Assert.Equal(2, await web.UpstreamCallsAsync("kernel")); // the first fill and exactly one refresh
        Assert.Equal(1, await web.MetricAsync("dogpile_refreshes_started_total"));
    }

    [Fact]
    public async Task BugPage_OnAHit_WritesTheSameTableUnderAHitBadge()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02);
        var miss = await web.GetReplyAsync("packages/kernel/bugs");
        var hit = await web.GetReplyAsync("packages/kernel/bugs");

        Assert.Equal(("miss", "hit"), (miss.Cache, hit.Cache));
        Assert.All(new[] { miss, hit }, r => Assert.StartsWith("text/html", r.ContentType));
        Assert.Contains("data-cache-state=\"miss\"", miss.Body);
        Assert.Contains("Miss: this request waited", miss.Body);
        Assert.Contains("data-cache-state=\"fresh\"", hit.Body);
        static string Table(string body) => body[body.IndexOf("<table class=\"bugs\">", StringComparison.Ordinal)..];
        Assert.Equal(Table(miss.Body), Table(hit.Body));

        // One page of kernel's 1,500 bugs: 50 rows under the header row.
        var table = Table(hit.Body);
        Assert.Equal(1 + 50, table[..table.IndexOf("</table>", StringComparison.Ordinal)].Split("<tr>").Length - 1);
    }

    [Theory]
    [InlineData("fail")]
    [InlineData("garbage")]
    public async Task TrackerFailing_KeepsServingTheStaleValue_AndCountsTheFailure(string fault)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.02, expirationSeconds: 1);
        var original = await web.GetReplyAsync("api/packages/bash/bugs");
        Assert.Equal("miss", original.Cache);

        await web.SetFaultAsync(fault);
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        var during = await web.GetReplyAsync("api/packages/bash/bugs");
        Assert.Equal(HttpStatusCode.OK, during.Status);
        Assert.Equal("stale", during.Cache);
        Assert.Equal(original.Body, during.Body);

        await Eventually.TrueAsync(async () => await web.MetricAsync("dogpile_refreshes_failed_total") >= 1, "the failed refresh was counted");
        Assert.True(await web.MetricAsync("dogpile_creation_failures_total") >= 1);

        // After the failure the old value stays in service (stale-if-error), page and API alike.
        var after = await web.GetReplyAsync("api/packages/bash/bugs");
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal("stale", after.Cache);
        Assert.Equal(original.Body, after.Body);
        var page = await web.GetReplyAsync("packages/bash/bugs");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("stale", page.Cache);
    }
}
