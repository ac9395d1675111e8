namespace Packages.Tests.Web;

/// <summary>The cache's state on every answer: badges on pages, the same facts in headers on the JSON API.</summary>
public sealed class CacheBadgeTests
{
    [Fact]
    public async Task Badge_GoesMissFreshStale_ThenTrackerFailing_AsTheValueAgesAndTheTrackerFails()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0, expirationSeconds: 1);

        using var miss = await web.GetAsync("api/packages/bash/bugs");
        Assert.Equal("miss", Header(miss, "X-Cache-State"));
        Assert.Equal("this-request", Header(miss, "X-Cache-Fetched-By"));
        Assert.NotNull(Header(miss, "X-Cache-Waited-Ms"));

        var fresh = await web.GetReplyAsync("packages/bash/bugs");
        Assert.Contains("data-cache-state=\"fresh\"", fresh.Body);

        await Eventually.TrueAsync(async () => (await web.GetReplyAsync("packages/bash/bugs")).Body.Contains("data-cache-state=\"stale\"", StringComparison.Ordinal), "the page shows a stale badge");
        Assert.Contains("refreshing in the background", (await StaleAgainAsync(web)).Body);

        await web.SetFaultAsync("fail");
        Reply? failing = null;
        await Eventually.TrueAsync(
            async () => (failing = await web.GetReplyAsync("packages/bash/bugs")).Body.Contains("data-cache-state=\"stale-if-error\"", StringComparison.Ordinal),
            "the page says the tracker is failing");
        Assert.Contains("The tracker is failing; showing the copy from ", failing!.Body);
        using var api = await web.GetAsync("api/packages/bash/bugs");
        Assert.Equal("stale-if-error", Header(api, "X-Cache-State"));
        Assert.Equal("stale", Header(api, "X-Cache"));
        Assert.NotNull(Header(api, "X-Cache-Failing-Since"));

        await web.SetFaultAsync("none");
        await Eventually.TrueAsync(async () => (await web.GetReplyAsync("packages/bash/bugs")).Body.Contains("data-cache-state=\"fresh\"", StringComparison.Ordinal), "the badge is fresh again once the tracker recovers", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ConcurrentMisses_OneRequestFetches_TheOthersSayTheyWaitedForIt()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0.05);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => web.GetAsync("api/packages/kernel/bugs")));
        try
        {
            Assert.All(responses, r => Assert.Equal("miss", Header(r, "X-Cache-State")));
            Assert.Single(responses, r => Header(r, "X-Cache-Fetched-By") == "this-request");
            Assert.Equal(9, responses.Count(r => Header(r, "X-Cache-Fetched-By") == "another-request"));
            Assert.Equal(1, await web.UpstreamCallsAsync("kernel"));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    /// <summary>Waits for the next expiry, so the stale answer is the one the assertion reads (a refresh may have landed between).</summary>
    private static async Task<Reply> StaleAgainAsync(WebAppHarness web)
    {
        Reply? reply = null;
        await Eventually.TrueAsync(async () => (reply = await web.GetReplyAsync("packages/bash/bugs")).Body.Contains("data-cache-state=\"stale\"", StringComparison.Ordinal), "a stale badge");
        return reply!;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;
}
