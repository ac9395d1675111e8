using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

/// <summary><c>AddDogpileHybridCache().AddRedis(...)</c>: HybridCache on the distributed setup, two "processes" sharing one Redis.</summary>
public sealed class RedisHybridCacheTests(RedisServer server) : IClassFixture<RedisServer>
{
    private ServiceProvider App(string prefix)
    {
        var services = new ServiceCollection();
        services.AddDogpileHybridCache(o => o.Expiration = TimeSpan.FromMinutes(5))
            .AddRedis(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.KeyPrefix = prefix;
            }, useRefreshQueue: false);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task HybridCache_OnRedis_SharesValuesAndTagAndWildcardRemovalAcrossProcesses()
    {
        string prefix = TestRedis.NewPrefix();
        await using ServiceProvider first = App(prefix);
        await using ServiceProvider second = App(prefix);
        HybridCache a = first.GetRequiredService<HybridCache>();
        HybridCache b = second.GetRequiredService<HybridCache>();
        Assert.Same(first.GetRequiredService<DogpileRedis>().Backend, first.GetRequiredKeyedService<CacheRegion>("hybrid").Backend);

        Assert.Equal("v", await a.GetOrCreateAsync("k", _ => new ValueTask<string>("v"), tags: ["t"]));
        Assert.Equal("v", await b.GetOrCreateAsync("k", _ => new ValueTask<string>("other process")));
        await a.SetAsync("plain", "p");
        IDatabase db = await first.GetRequiredService<DogpileRedis>().DbAsync();
        Assert.True(await db.KeyExistsAsync($"{prefix}:{{hybrid:k}}:v"));

        await a.RemoveByTagAsync("t");
        await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("k", _ => new ValueTask<string>("recreated")) == "recreated", "the other process applies the tag removal");
        Assert.Equal("p", await b.GetOrCreateAsync("plain", _ => new ValueTask<string>("recreated")));

        await b.RemoveByTagAsync("*");
        await Eventually.TrueAsync(async () => await a.GetOrCreateAsync("plain", _ => new ValueTask<string>("after *")) == "after *", "the other process applies the wildcard removal");
    }

    [Fact]
    public async Task HybridCache_OnRedis_DistributedWriteFlagOff_ValueNotStored()
    {
        await using ServiceProvider app = App(TestRedis.NewPrefix());
        HybridCache cache = app.GetRequiredService<HybridCache>();
        var noWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite };

        Assert.Equal("1", await cache.GetOrCreateAsync("k", _ => new ValueTask<string>("1"), noWrite));
        Assert.Equal("2", await cache.GetOrCreateAsync("k", _ => new ValueTask<string>("2")));
    }
}
