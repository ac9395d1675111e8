using Dogpile.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

public sealed class RedisDependencyInjectionTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task AddRedis_MakesRedisTheDefaultOfEveryRegion_WithOneSharedConnection()
    {
        string prefix = TestRedis.NewPrefix();
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddRegion("bugs", o => o.BackgroundRefresh = true)
            .AddRegion("packages")
            .AddRedis(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.KeyPrefix = prefix;
            })
            .AddRedisRefreshWorker(o => o.MaxConcurrency = 2);
        await using ServiceProvider provider = services.BuildServiceProvider();

        CacheRegion bugs = provider.GetRequiredKeyedService<CacheRegion>("bugs");
        CacheRegion packages = provider.GetRequiredKeyedService<CacheRegion>("packages");
        DogpileRedis redis = provider.GetRequiredService<DogpileRedis>();

        Assert.Same(redis.Backend, bugs.Backend);
        Assert.Same(redis.Backend, packages.Backend);
        Assert.Contains(provider.GetServices<IHostedService>(), s => s is RedisRefreshWorker);
        Assert.Equal("v", await bugs.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
        Assert.Equal("w", await packages.GetOrCreateAsync("k", _ => ValueTask.FromResult("w")));

        // Per-region prefixes keep the regions apart in one database.
        IDatabase db = await redis.DbAsync();
        Assert.True(await db.KeyExistsAsync($"{prefix}:{{bugs:k}}:v"));
        Assert.True(await db.KeyExistsAsync($"{prefix}:{{packages:k}}:v"));
    }

    [Fact]
    public async Task AddRedisRefreshWorker_NoConsumerNameGiven_OptionsShowTheNameTheWorkerRunsUnder()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddRegion("named")
            .AddRedis(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.KeyPrefix = TestRedis.NewPrefix();
            })
            .AddRedisRefreshWorker();
        await using ServiceProvider provider = services.BuildServiceProvider();

        // The worker type is internal: its name must be readable from the options a user has.
        string? configured = provider.GetRequiredService<IOptions<RedisRefreshWorkerOptions>>().Value.ConsumerName;
        RedisRefreshWorker worker = Assert.Single(provider.GetServices<IHostedService>().OfType<RedisRefreshWorker>());
        Assert.False(string.IsNullOrEmpty(configured));
        Assert.Equal(worker.ConsumerName, configured);
    }

    [Fact]
    public async Task AddRedisRefreshWorker_CalledTwice_OneWorkerWithBothConfigurations()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddRegion("twice")
            .AddRedis(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.KeyPrefix = TestRedis.NewPrefix();
            })
            .AddRedisRefreshWorker(o => o.MaxConcurrency = 3)
            .AddRedisRefreshWorker(o => o.ConsumerName = "the-one-worker");
        await using ServiceProvider provider = services.BuildServiceProvider();

        RedisRefreshWorker worker = Assert.Single(provider.GetServices<IHostedService>().OfType<RedisRefreshWorker>());
        Assert.Equal("the-one-worker", worker.ConsumerName);
        Assert.Equal(3, provider.GetRequiredService<IOptions<RedisRefreshWorkerOptions>>().Value.MaxConcurrency);
    }

    [Fact]
    public void CreateWorker_TwoWorkersFromOneOptionsWithoutAName_GetDistinctNames()
    {
        using var redis = new DogpileRedis(new DogpileRedisOptions { ConnectionString = server.ConnectionString, KeyPrefix = TestRedis.NewPrefix() });
        var options = new RedisRefreshWorkerOptions();
        using var first = (RedisRefreshWorker)redis.CreateWorker(_ => null, options);
        using var second = (RedisRefreshWorker)redis.CreateWorker(_ => null, options);

        Assert.NotEqual(first.ConsumerName, second.ConsumerName);
        Assert.Null(options.ConsumerName);
    }

    [Fact]
    public async Task ServiceProvider_DisposedSynchronously_ClosesRegionsAndTheConnectionWithoutThrowing()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddRegion("sync")
            .AddRedis(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.KeyPrefix = TestRedis.NewPrefix();
            });
        CacheRegion region;
        using (ServiceProvider provider = services.BuildServiceProvider())
        {
            region = provider.GetRequiredKeyedService<CacheRegion>("sync");
            Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await region.GetOrCreateAsync("other", _ => ValueTask.FromResult("w")));
    }

    [Fact]
    public void Options_Invalid_AreRejectedNamingTheOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DogpileRedis(new DogpileRedisOptions()));
        Assert.Contains("ConnectionString", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => new DogpileRedis(new DogpileRedisOptions { ConnectionString = "x", MaxValueBytes = 0 }));
        Assert.Contains("MaxValueBytes", ex.Message, StringComparison.Ordinal);
    }
}
