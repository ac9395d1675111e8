using System.Text.Json;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

/// <summary>Several OS processes on one Redis: one creator per key across all of them, and a worker killed mid-job.</summary>
public sealed class CrossProcessTests(RedisServer server) : IClassFixture<RedisServer>
{
    private const int Processes = 4;
    private const int CallersPerProcess = 100;

    [Fact]
    public async Task ColdKey_FourProcessesTimesHundredCallers_ExactlyOneCreatorCall()
    {
        string prefix = TestRedis.NewPrefix();
        Dictionary<string, int> values = await RunStampedeAsync(prefix, "cold");

        IDatabase admin = await server.AdminAsync();
        Assert.Equal(1, (long)await admin.StringGetAsync($"{prefix}:counter"));
        Assert.Equal(new Dictionary<string, int> { ["v1"] = Processes * CallersPerProcess }, values);
    }

    [Fact]
    public async Task StaleKey_InFourProcesses_ExactlyOneRefresh()
    {
        string prefix = TestRedis.NewPrefix();
        await using (DogpileRedis redis = TestRedis.Create(server, prefix: prefix))
        {
            await using CacheRegion region = TestRedis.Region(redis, "stampede");
            await region.SetAsync("stale", "old", new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
            await Eventually.TrueAsync(async () => (await region.GetItemAsync<string>("stale"))?.IsStale == true, "the value is stale");
        }

        Dictionary<string, int> values = await RunStampedeAsync(prefix, "stale");

        IDatabase admin = await server.AdminAsync();
        Assert.Equal(1, (long)await admin.StringGetAsync($"{prefix}:counter"));
        Assert.Equal(Processes * CallersPerProcess, values.Values.Sum());
        Assert.Subset(new HashSet<string> { "old", "v1" }, values.Keys.ToHashSet());
        // The elected caller gets the new value; callers that read after its write get it too, as a plain hit.
        Assert.True(values.GetValueOrDefault("v1") >= 1);
        Assert.True(values.GetValueOrDefault("old") >= 1);
    }

    [Fact]
    public async Task WorkerKilledMidJob_JobReclaimedByAnotherWorker_KeyFreshWithinBound_NoLockLeft()
    {
        string prefix = TestRedis.NewPrefix();
        string startedKey = $"{prefix}:started";
        await using DogpileRedis redis = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion region = TestRedis.Region(redis, "jobs", o => o.BackgroundRefresh = true, useQueue: true);
        CachedFunction<string, string> slow = region.CreateFunction<string, string>("slow", (arg, _) => ValueTask.FromResult("fresh-" + arg));
        await region.SetAsync(slow.KeyFor("a"), "old", new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        await Eventually.TrueAsync(async () => (await region.GetItemAsync<string>(slow.KeyFor("a")))?.IsStale == true, "the value is stale");

        using ChildProcess doomed = StampedeClient.Start("worker", $"127.0.0.1:{server.Port}", prefix, redis.Options.QueueName, startedKey);
        await doomed.WaitForLineAsync("READY", TimeSpan.FromSeconds(30));
        Assert.Equal("old", await slow.InvokeAsync("a"));
        IDatabase admin = await server.AdminAsync();
        await Eventually.TrueAsync(async () => (long)await admin.StringGetAsync(startedKey) == 1, "the child worker started the job", TimeSpan.FromSeconds(20));

        doomed.Kill();
        var sinceDeath = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(1, (await redis.GetQueueSnapshotAsync()).Pending);

        var options = new RedisRefreshWorkerOptions { MinIdleTime = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMilliseconds(100) };
        using BackgroundService survivor = redis.CreateWorker(name => name == region.Name ? region : null, options);
        await survivor.StartAsync(CancellationToken.None);

        // docs/redis.md: a dead worker's job runs again within MinIdleTime + min(MinIdleTime / 2, PollInterval) of its
        // death, plus the run (here instant). The slack is for a loaded test machine, not for the design.
        TimeSpan bound = options.MinIdleTime + options.PollInterval;
        TimeSpan slack = TimeSpan.FromSeconds(3);
        await Eventually.TrueAsync(async () => (await slow.GetAsync("a")) is { HasValue: true, Value: "fresh-a" }, "the survivor refreshed the key", bound + slack);
        Assert.True(sinceDeath.Elapsed <= bound + slack, $"fresh again {sinceDeath.Elapsed} after the kill; bound {bound} (+{slack} slack)");
        await Eventually.TrueAsync(async () => (await redis.GetQueueSnapshotAsync()) is { Length: 0, Pending: 0 }, "the job is acknowledged");
        await survivor.StopAsync(CancellationToken.None);

        RedisQueueSnapshot snapshot = await redis.GetQueueSnapshotAsync();
        Assert.Equal(1, snapshot.Reclaimed);
        Assert.Equal(1, snapshot.Completed);
        Assert.Equal(0, snapshot.DeadLetterLength);
        Assert.Equal(1, (long)await admin.StringGetAsync(startedKey));

        // Nothing left behind: neither the dead worker's lock (the job's, renewed by it) nor the pending marker.
        var keys = new RedisKeysView(prefix, redis.Options.QueueName);
        string backendKey = "jobs:" + slow.KeyFor("a");
        Assert.False(await admin.KeyExistsAsync(keys.Lock(backendKey)), "no lock is left on the key");
        Assert.False(await admin.KeyExistsAsync(keys.Marker(backendKey)), "no pending marker is left");
        Assert.Empty((RedisResult[])(await admin.ExecuteAsync("KEYS", $"{prefix}:*:lock"))!);
    }

    private async Task<Dictionary<string, int>> RunStampedeAsync(string prefix, string key)
    {
        string counter = $"{prefix}:counter", gate = $"{prefix}:gate";
        var children = Enumerable.Range(0, Processes)
            .Select(_ => StampedeClient.Start("stampede", $"127.0.0.1:{server.Port}", prefix, key, counter, gate, CallersPerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        try
        {
            foreach (ChildProcess child in children)
            {
                await child.WaitForLineAsync("READY", TimeSpan.FromSeconds(60));
            }

            IDatabase admin = await server.AdminAsync();
            await admin.StringSetAsync(gate, "go");

            var values = new Dictionary<string, int>();
            foreach (ChildProcess child in children)
            {
                string json = await child.ReadToEndAsync(TimeSpan.FromSeconds(60)) is [.., string last] ? last : "";
                StampedeResult result = JsonSerializer.Deserialize<StampedeResult>(json)!;
                Assert.Empty(result.Errors);
                foreach ((string value, int count) in result.Values)
                {
                    values[value] = values.GetValueOrDefault(value) + count;
                }
            }

            return values;
        }
        finally
        {
            children.ForEach(c => c.Dispose());
        }
    }

    private sealed record StampedeResult(Dictionary<string, int> Values, double MaxLatencyMs, double MeanLatencyMs, string[] Errors);
}
