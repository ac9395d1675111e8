using System.Collections.Concurrent;
using System.Diagnostics;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Redis.Tests.Faults;

/// <summary>
/// redis-server killed (SIGKILL) or frozen (SIGSTOP) under regions with the default Degrade policy: warm and cold keys
/// are served with one creator per key in this process, no call waits for a timeout while the breaker is open, and the
/// region is back on Redis within the breaker's longest interval after the server returns. Owns its server.
/// </summary>
public sealed class RedisDegradedTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task ServerKilled_WarmAndColdKeysServed_OneCreatorPerKey_BreakerOpenCallsDoNotWait_RecoversAfterRestart()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o => o.OperationTimeout = OperationTimeout);
        await using CacheRegion region = TestRedis.Region(redis, "killed");
        var creations = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        ValueTask<string> Create(string key)
        {
            creations.AddOrUpdate(key, 1, (_, n) => n + 1);
            return ValueTask.FromResult("v-" + key);
        }

        string[] warm = Enumerable.Range(0, 5).Select(i => "warm" + i).ToArray();
        foreach (string key in warm)
        {
            Assert.Equal("v-" + key, await region.GetOrCreateAsync(key, key, static (k, _) => ValueTask.FromResult("v-" + k)));
        }

        server.Stop();
        try
        {
            // Once the breaker has opened (the first failure), no call may wait: each is served here at once.
            await region.GetOrCreateAsync("opener", _ => ValueTask.FromResult("x"));
            Assert.False(redis.Connection.Breaker.IsClosed);

            string[] cold = Enumerable.Range(0, 10).Select(i => "cold" + i).ToArray();
            var slowest = TimeSpan.Zero;
            for (int round = 0; round < 5; round++)
            {
                await Task.WhenAll(cold.Concat(warm).SelectMany(key => Enumerable.Repeat(key, 4)).Select(async key =>
                {
                    var watch = Stopwatch.StartNew();
                    CacheItem<string> item = await region.GetOrCreateItemAsync(key, key, (k, _) => Create(k));
                    TimeSpan took = watch.Elapsed;
                    lock (creations)
                    {
                        slowest = took > slowest ? took : slowest;
                    }

                    Assert.Equal("v-" + key, item.Value);
                    Assert.True(item.Degraded || key.StartsWith("warm", StringComparison.Ordinal), $"{key} was not marked degraded");
                }));
            }

            // One creator per key in this process; a warm key this process still holds a copy of needs none.
            Assert.All(cold, key => Assert.Equal(1, creations.GetValueOrDefault(key)));
            Assert.All(warm, key => Assert.True(creations.GetValueOrDefault(key) <= 1, $"{key} was created {creations.GetValueOrDefault(key)} times"));
            // A probe (one per interval) may wait for the client's answer; the client knows Redis is gone, so even the
            // probe is quick when the server is killed. Nothing comes near the operation timeout.
            Assert.True(slowest < TimeSpan.FromMilliseconds(100), $"the slowest call took {slowest}");
            Assert.True(region.GetStatistics().DegradedServed >= 5 * 40);
        }
        finally
        {
            await server.StartAsync();
        }

        // Back on Redis without a restart: within the breaker's longest interval (and the multiplexer's reconnect).
        var back = Stopwatch.StartNew();
        await Eventually.TrueAsync(
            async () => !(await region.GetOrCreateItemAsync("after", 0, (_, _) => ValueTask.FromResult("after"))).Degraded,
            "the region serves from Redis again",
            TimeSpan.FromSeconds(15));
        Assert.True(back.Elapsed < redis.Options.BreakerMaxInterval + TimeSpan.FromSeconds(3), $"recovery took {back.Elapsed}");
        Assert.True(redis.Connection.Breaker.IsClosed);
        Assert.Equal("after", (await region.GetAsync<string>("after")).Value);
    }

    [Fact]
    public async Task ServerFrozen_FirstCallWaitsAtMostTheTimeout_LaterCallsServedAtOnce_ThawedRedisIsUsedAgain()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o => o.OperationTimeout = OperationTimeout);
        await using CacheRegion region = TestRedis.Region(redis, "frozen");
        Assert.Equal("warm", await region.GetOrCreateAsync("warm", _ => ValueTask.FromResult("warm")));
        int creations = 0;

        server.Pause();
        var durations = new List<TimeSpan>();
        try
        {
            var first = Stopwatch.StartNew();
            Assert.Equal("c0", await region.GetOrCreateAsync("c0", _ => ValueTask.FromResult("c0")));
            // The operation timeout, plus up to the multiplexer's 1 s heartbeat that enforces it.
            Assert.True(first.Elapsed < OperationTimeout + TimeSpan.FromSeconds(1.5), $"the first call took {first.Elapsed}");

            var during = Stopwatch.StartNew();
            while (during.Elapsed < TimeSpan.FromSeconds(2))
            {
                var watch = Stopwatch.StartNew();
                Assert.Equal("c1", await region.GetOrCreateAsync("c1", _ =>
                {
                    Interlocked.Increment(ref creations);
                    return ValueTask.FromResult("c1");
                }));
                durations.Add(watch.Elapsed);
            }
        }
        finally
        {
            server.Resume();
        }

        // Served from the value created once; every call fast except, at most, the probes (one per interval).
        Assert.Equal(1, creations);
        int slow = durations.Count(d => d > TimeSpan.FromMilliseconds(50));
        Assert.True(durations.Count > 50, $"only {durations.Count} calls in 2 s");
        Assert.True(slow <= 8, $"{slow} of {durations.Count} calls took over 50 ms while the breaker was open");

        await Eventually.TrueAsync(
            async () => !(await region.GetOrCreateItemAsync("warm", 0, (_, _) => ValueTask.FromResult("recreated"))).Degraded,
            "the region serves from Redis again",
            TimeSpan.FromSeconds(10));
        Assert.Equal("warm", await region.GetOrCreateAsync("warm", _ => ValueTask.FromResult("recreated")));
    }

    [Fact]
    public async Task ServerKilled_ThrowPolicy_Throws_BreakerOpenMessageSaysSo()
    {
        await using DogpileRedis redis = TestRedis.Create(server, o =>
        {
            o.OperationTimeout = OperationTimeout;
            o.BreakerMaxInterval = TimeSpan.FromSeconds(30);
            o.BreakerMinInterval = TimeSpan.FromSeconds(30);
        });
        await using CacheRegion region = TestRedis.Region(redis, "throws", o => o.BackendFailurePolicy = CacheBackendFailurePolicy.Throw);
        Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));

        server.Stop();
        try
        {
            var first = await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await region.GetOrCreateAsync("cold", _ => ValueTask.FromResult("x")));
            Assert.NotEqual(CacheBackendFailure.BreakerOpen, first.Failure);
            var watch = Stopwatch.StartNew();
            var skipped = await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await region.GetOrCreateAsync("cold", _ => ValueTask.FromResult("x")));
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(50), $"took {watch.Elapsed}");
            Assert.Equal(CacheBackendFailure.BreakerOpen, skipped.Failure);
            Assert.Equal(TimeSpan.Zero, skipped.Elapsed);
            Assert.Contains("circuit breaker is open", skipped.Message, StringComparison.Ordinal);
            Assert.Contains("without waiting", skipped.Message, StringComparison.Ordinal);
            Assert.IsAssignableFrom<CacheBackendUnavailableException>(skipped);
        }
        finally
        {
            await server.StartAsync();
        }
    }
}
