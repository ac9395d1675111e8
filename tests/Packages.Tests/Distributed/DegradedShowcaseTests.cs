using System.Net;
using System.Text.Json;
using Dogpile.Testing;
using Packages.Upstream;

namespace Packages.Tests.Distributed;

/// <summary>
/// The showcase under a dead cache: redis-server killed under two web instances. Every request is answered (200), each
/// instance calls the tracker at most once per package, responses say they were served degraded, <c>/healthz</c> says
/// Degraded; once redis is back the instances share the cache again, without a restart.
/// </summary>
[Collection(nameof(DistributedShowcase))]
public sealed class DegradedShowcaseTests
{
    [Fact]
    public async Task Redis_Killed_TwoInstancesAnswerEverything_OneUpstreamCallPerPackagePerInstance_ThenSharedAgain()
    {
        await using var redis = ServerProcess.Redis();
        await redis.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync(new UpstreamOptions { DelayScale = 0.05 }, CancellationToken.None);
        string[] settings =
        [
            "--Cache:Backend", "redis", "--Cache:Connection", redis.Endpoint,
            "--Cache:ExpirationSeconds", "2", "--Upstream:Url", upstream.BaseAddress.ToString(),
        ];
        await using var web1 = await AppProcess.StartWebAsync(settings);
        await using var web2 = await AppProcess.StartWebAsync(settings);
        using var http1 = new HttpClient { BaseAddress = web1.Address, Timeout = TimeSpan.FromSeconds(60) };
        using var http2 = new HttpClient { BaseAddress = web2.Address, Timeout = TimeSpan.FromSeconds(60) };
        using var tracker = new HttpClient { BaseAddress = upstream.BaseAddress };
        string[] names = await PackageNamesAsync(tracker, 12);
        string[] cold = names[..10];

        Assert.Equal(HttpStatusCode.OK, (await GetBugsAsync(http1, names[11])).Status);
        redis.Kill();

        // 100 requests over 10 cold packages on each instance, all at once.
        Reply[] replies = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => GetBugsAsync(i % 2 == 0 ? http1 : http2, cold[i / 2 % 10])));
        Assert.All(replies, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(replies, r => Assert.Equal("backend-unavailable", r.Degraded));
        Dictionary<string, long> during = await CallsAsync(tracker);
        Assert.All(cold, name => Assert.InRange(during.GetValueOrDefault(name), 1, 2));

        using (HttpResponseMessage health = await http1.GetAsync(new Uri("healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            using var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
            Assert.Equal("degraded", body.RootElement.GetProperty("status").GetString());
            Assert.Contains(body.RootElement.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == "dogpile-redis" && c.GetProperty("status").GetString() == "degraded");
        }

        // The pages answer too, with the degraded badge.
        using (HttpResponseMessage page = await http2.GetAsync(new Uri($"packages/{cold[0]}/bugs", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("data-cache-state=\"degraded\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await redis.StartAsync();

        // Back on redis without a restart: a package nobody asked for is served from the shared cache again.
        await EventuallyAsync(
            async () => (await GetBugsAsync(http1, names[10])).Degraded is null && (await GetBugsAsync(http2, names[10])).Degraded is null,
            "both instances use redis again");

        // One upstream call per package per expiry window across both instances.
        Dictionary<string, long> before = await CallsAsync(tracker);
        Reply[] shared = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => GetBugsAsync(i % 2 == 0 ? http1 : http2, cold[i / 2 % 10])));
        Assert.All(shared, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Dictionary<string, long> after = await CallsAsync(tracker);
        Assert.All(cold, name => Assert.Equal(1, after.GetValueOrDefault(name) - before.GetValueOrDefault(name)));
        Assert.All(shared, r => Assert.Null(r.Degraded));
    }

    private static async Task<string[]> PackageNamesAsync(HttpClient tracker, int count)
    {
        using var list = JsonDocument.Parse(await tracker.GetStringAsync(new Uri("packages", UriKind.Relative)));
        return list.RootElement.GetProperty("packages").EnumerateArray().Select(e => e.GetString()!).Take(count).ToArray();
    }

    private static async Task<Reply> GetBugsAsync(HttpClient http, string package)
    {
        using var response = await http.GetAsync(new Uri($"api/packages/{package}/bugs", UriKind.Relative));
        string? degraded = response.Headers.TryGetValues("X-Cache-Degraded", out var values) ? values.Single() : null;
        return new Reply(response.StatusCode, degraded);
    }

    private static async Task<Dictionary<string, long>> CallsAsync(HttpClient tracker)
    {
        using var stats = JsonDocument.Parse(await tracker.GetStringAsync(new Uri("stats", UriKind.Relative)));
        return stats.RootElement.GetProperty("calls").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string because)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {because}.");
            }

            await Task.Delay(100);
        }
    }

    private readonly record struct Reply(HttpStatusCode Status, string? Degraded);
}
