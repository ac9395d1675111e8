using Dogpile.Redis.Tests.Infrastructure;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Dogpile.Redis.Tests.Docs;

/// <summary>
/// docs/migrating.md's FusionCache side, run as written against the test redis-server, so the comparison shows code
/// that works. (Dogpile.Tests checks that the page's code is this code, and runs the Dogpile side.)
/// </summary>
public sealed class MigratingFromFusionCacheDocTests(RedisServer server) : IClassFixture<RedisServer>
{
    private int _fetches;

    [Fact]
    public async Task FromFusionCache_TheFusionCacheSideRunsAsWritten()
    {
        string redisConnection = server.ConnectionString;
        var services = new ServiceCollection();

        // --- docs/migrating.md ---
        services.AddFusionCache()
            .WithDefaultEntryOptions(new FusionCacheEntryOptions
            {
                Duration = TimeSpan.FromMinutes(1),
                IsFailSafeEnabled = true,
                FailSafeMaxDuration = TimeSpan.FromHours(1),
                FailSafeThrottleDuration = TimeSpan.FromSeconds(30),
                EagerRefreshThreshold = 0.8f,
                FactorySoftTimeout = TimeSpan.FromMilliseconds(100),
            })
            .WithSerializer(new FusionCacheSystemTextJsonSerializer())
            .WithDistributedCache(new RedisCache(new RedisCacheOptions { Configuration = redisConnection }))
            .WithBackplane(new RedisBackplane(new RedisBackplaneOptions { Configuration = redisConnection }));

        await using ServiceProvider provider = services.BuildServiceProvider();   // in an app, the host does this
        IFusionCache cache = provider.GetRequiredService<IFusionCache>();
        BugList bugs = await cache.GetOrSetAsync<BugList>("bugs:kernel", async (ctx, ct) => await FetchBugsAsync("kernel", ct));
        // --- end ---

        Assert.Equal("kernel", bugs.Package);
        Assert.Equal(["kernel: it crashes"], (await cache.GetOrSetAsync<BugList>("bugs:kernel", async (ctx, ct) => await FetchBugsAsync("kernel", ct))).Bugs);
        Assert.Equal(1, _fetches);
    }

    private ValueTask<BugList> FetchBugsAsync(string package, CancellationToken ct)
    {
        Interlocked.Increment(ref _fetches);
        return new(new BugList(package, [$"{package}: it crashes"]));
    }

    public sealed record BugList(string Package, string[] Bugs);
}
