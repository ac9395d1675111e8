using System.Net;
using System.Text.Json;
using Dogpile.Testing;
using Packages.Upstream;

namespace Packages.Tests.Distributed;

[CollectionDefinition(nameof(DistributedShowcase), DisableParallelization = true)]
public sealed class DistributedShowcase;

/// <summary>
/// The seed's final design, end to end: two web instances and a worker process share one cache (redis, or
/// memcached for backend and lock), and behave as one cache: one upstream call per package per expiry window.
/// </summary>
[Collection(nameof(DistributedShowcase))]
public sealed class DistributedShowcaseTests
{
    [Fact]
    public async Task Redis_TwoWebInstancesAndWorker_OneUpstreamCallPerWindow()
    {
        await using var redis = ServerProcess.Redis();
        await redis.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync(new UpstreamOptions { DelayScale = 0.05 }, CancellationToken.None);
        string[] settings = RedisQueueSettings(redis, upstream);
        await using var web1 = await AppProcess.StartWebAsync(settings);
        await using var web2 = await AppProcess.StartWebAsync(settings);
        await using var worker = await AppProcess.StartWorkerAsync(settings);
        using var http1 = Client(web1);
        using var http2 = Client(web2);
        using var tracker = new HttpClient { BaseAddress = upstream.BaseAddress };

        // 100 concurrent first requests over both instances: one creator across processes.
        await FirstRequestsAcrossBothAsync(http1, http2, tracker);

        // Fresh: hits on both.
        Assert.Equal("hit", (await GetBugsAsync(http1)).Cache);
        Assert.Equal("hit", (await GetBugsAsync(http2)).Cache);

        // Expired: both serve stale at once while exactly one refresh runs, through the queue and the worker.
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Reply[] stale = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => GetBugsAsync(i % 2 == 0 ? http1 : http2)));
        Assert.All(stale, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Contains(stale, r => r.Cache == "stale");
        Assert.DoesNotContain(stale, r => r.Cache == "miss");
        await Testing.EventuallyAsync(async () => (await GetBugsAsync(http1)).Cache == "hit" && (await GetBugsAsync(http2)).Cache == "hit", "both instances see the refreshed value");
        Reply after = await GetBugsAsync(http2);
        Assert.InRange(after.Age, 0, 2);
        Assert.Equal(2, await KernelCallsAsync(tracker));

        // The dashboard's health card: the near cache in front of Redis, coherent through the change feed.
        await Testing.EventuallyAsync(
            async () => (await http1.GetStringAsync(new Uri("status/charts", UriKind.Relative))).Contains("data-health=\"near\" class=\"up\"", StringComparison.Ordinal),
            "the dashboard shows a coherent near cache");

        // The queue was used: /metrics shows the Redis meter beside the regions' (the queue as last read, the jobs this
        // instance enqueued, the Redis calls it made).
        string metrics = await http1.GetStringAsync(new Uri("metrics", UriKind.Relative));
        foreach (string name in new[] { "dogpile_redis_queue_length{", "dogpile_redis_queue_dead_letters{", "dogpile_redis_operation_duration_seconds_count{" })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }

        string http2Metrics = await http2.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Contains(metrics.Split('\n').Concat(http2Metrics.Split('\n')), l => l.StartsWith("dogpile_redis_jobs_enqueued_total{", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Redis_WorkerKilledMidRefresh_RestartedWorkerCompletesTheJob()
    {
        await using var redis = ServerProcess.Redis();
        await redis.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync(new UpstreamOptions { DelayScale = 0.05 }, CancellationToken.None);
        string[] settings = RedisQueueSettings(redis, upstream);
        await using var web = await AppProcess.StartWebAsync(settings);
        AppProcess worker = await AppProcess.StartWorkerAsync(settings);
        using var http = Client(web);
        using var tracker = new HttpClient { BaseAddress = upstream.BaseAddress };
        Assert.Equal("miss", (await GetBugsAsync(http)).Cache);
        Assert.Equal(1, await KernelCallsAsync(tracker));

        // The next refresh hangs in the tracker long enough to kill the worker in the middle of it.
        await SetFaultAsync(tracker, "slow", 60_000);
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal("stale", (await GetBugsAsync(http)).Cache);
        await Testing.EventuallyAsync(async () => await KernelCallsAsync(tracker) == 2, "the worker took the job and called the tracker");
        worker.Kill();
        await worker.DisposeAsync();

        // Nobody acknowledged the job: a new worker reclaims it after the idle time and completes the refresh.
        await SetFaultAsync(tracker, "none", 0);
        Assert.Equal("stale", (await GetBugsAsync(http)).Cache);
        await using var restarted = await AppProcess.StartWorkerAsync(settings);
        await Testing.EventuallyAsync(async () => (await GetBugsAsync(http)).Cache == "hit", "the reclaimed job refreshed the key", TimeSpan.FromSeconds(60));
        Assert.Equal(3, await KernelCallsAsync(tracker));
        Assert.InRange((await GetBugsAsync(http)).Age, 0, 2);
    }

    [Fact]
    public async Task Memcached_TwoWebInstances_OneUpstreamCallPerWindow()
    {
        await using var memcached = ServerProcess.Memcached();
        await memcached.StartAsync();
        await using var upstream = await UpstreamServer.StartAsync(new UpstreamOptions { DelayScale = 0.05 }, CancellationToken.None);
        string[] settings =
        [
            "--Cache:Backend", "memcached", "--Cache:Connection", memcached.Endpoint,
            "--Cache:ExpirationSeconds", "2", "--Upstream:Url", upstream.BaseAddress.ToString(),
        ];
        await using var web1 = await AppProcess.StartWebAsync(settings);
        await using var web2 = await AppProcess.StartWebAsync(settings);
        using var http1 = Client(web1);
        using var http2 = Client(web2);
        using var tracker = new HttpClient { BaseAddress = upstream.BaseAddress };

        await FirstRequestsAcrossBothAsync(http1, http2, tracker);
        Assert.Equal("hit", (await GetBugsAsync(http2)).Cache);

        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Reply[] stale = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => GetBugsAsync(i % 2 == 0 ? http1 : http2)));
        Assert.All(stale, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.DoesNotContain(stale, r => r.Cache == "miss");
        await Testing.EventuallyAsync(async () => (await GetBugsAsync(http1)).Cache == "hit" && (await GetBugsAsync(http2)).Cache == "hit", "both instances see the refreshed value");
        Assert.Equal(2, await KernelCallsAsync(tracker));

        // memcached has no change feed: the near cache is time-bounded, and the dashboard says so.
        await Testing.EventuallyAsync(
            async () => (await http2.GetStringAsync(new Uri("status/charts", UriKind.Relative))).Contains("data-health=\"near\" class=\"degraded\"", StringComparison.Ordinal),
            "the dashboard shows a time-bounded near cache");
    }

    private static string[] RedisQueueSettings(ServerProcess redis, RunningUpstream upstream) =>
    [
        "--Cache:Backend", "redis", "--Cache:Connection", redis.Endpoint, "--Cache:Refresh", "queue",
        "--Cache:ExpirationSeconds", "2", "--Upstream:Url", upstream.BaseAddress.ToString(),
        "--Worker:ReclaimAfterSeconds", "2",
    ];

    /// <summary>100 concurrent first requests for kernel over both instances: all succeed, and the tracker sees one call.</summary>
    private static async Task FirstRequestsAcrossBothAsync(HttpClient http1, HttpClient http2, HttpClient tracker)
    {
        Reply[] first = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => GetBugsAsync(i % 2 == 0 ? http1 : http2)));
        Assert.All(first, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(1, await KernelCallsAsync(tracker));
    }

    private static HttpClient Client(AppProcess web) => new() { BaseAddress = web.Address, Timeout = TimeSpan.FromSeconds(60) };

    private static async Task<Reply> GetBugsAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative));
        string cache = response.Headers.TryGetValues("X-Cache", out var values) ? values.Single() : "";
        int age = response.Headers.Age is { } a ? (int)a.TotalSeconds : -1;
        return new Reply(response.StatusCode, cache, age);
    }

    private static async Task<long> KernelCallsAsync(HttpClient tracker)
    {
        using var stats = JsonDocument.Parse(await tracker.GetStringAsync(new Uri("stats", UriKind.Relative)));
        return stats.RootElement.GetProperty("calls").TryGetProperty("kernel", out JsonElement calls) ? calls.GetInt64() : 0;
    }

    private static async Task SetFaultAsync(HttpClient tracker, string mode, int delayMs)
    {
        using var content = new StringContent($$"""{"mode":"{{mode}}","delayMs":{{delayMs}}}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await tracker.PostAsync(new Uri("faults", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
    }

    private readonly record struct Reply(HttpStatusCode Status, string Cache, int Age);

    private static class Testing
    {
        public static async Task EventuallyAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null)
        {
            DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
            while (!await condition())
            {
                if (DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"Timed out waiting until {because}.");
                }

                await Task.Delay(100);
            }
        }
    }
}
