using System.Diagnostics;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

/// <summary>
/// A multiplexer the application supplies keeps its own timeouts; Dogpile's calls stay bounded by
/// <see cref="DogpileRedisOptions.OperationTimeout"/> either way. Owns its server: the pause would stall other classes.
/// </summary>
public sealed class SuppliedMultiplexerTimeoutTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Theory]
    [InlineData(10_000)] // longer than OperationTimeout: Dogpile's own timer cuts the call off
    [InlineData(1500)] // equal to OperationTimeout: the multiplexer's timeout does, and hits skip the per-call timer
    public async Task SlowRedis_ReadFailsWithinOperationTimeout_WhateverTheMultiplexersAsyncTimeout(int asyncTimeoutMs)
    {
        ConfigurationOptions config = ConfigurationOptions.Parse(server.ConnectionString);
        config.AsyncTimeout = asyncTimeoutMs;
        await using ConnectionMultiplexer mux = await ConnectionMultiplexer.ConnectAsync(config);
        await using var redis = new DogpileRedis(new DogpileRedisOptions
        {
            Multiplexer = mux,
            KeyPrefix = TestRedis.NewPrefix(),
            OperationTimeout = TimeSpan.FromMilliseconds(1500),
            FailurePolicy = CacheBackendFailurePolicy.Throw,
        });
        // The near cache off: every read here must be a Redis read, the one whose time-out is measured.
        await using CacheRegion region = TestRedis.Region(redis, "supplied", o => o.NearCache = new NearCacheOptions { Enabled = false });
        await region.SetAsync("k", "v");
        Assert.Equal("v", (await region.GetAsync<string>("k")).Value);

        IDatabase admin = await server.AdminAsync();
        await admin.ExecuteAsync("CLIENT", "PAUSE", "5000", "ALL");
        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<DogpileRedisUnavailableException>(async () => await region.GetAsync<string>("k"));
        TimeSpan took = watch.Elapsed;

        // OperationTimeout, plus up to the multiplexer's 1 s heartbeat when its own timeout is the bound.
        Assert.True(took < TimeSpan.FromSeconds(3.5), $"the read took {took}");
        Assert.Contains("Redis is unavailable", ex.Message, StringComparison.Ordinal);

        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    return (await region.GetAsync<string>("k")).Value == "v";
                }
                catch (DogpileRedisUnavailableException)
                {
                    return false;
                }
            },
            "reads succeed once the pause ends",
            TimeSpan.FromSeconds(15));
    }
}
