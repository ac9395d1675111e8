using System.Globalization;
using Dogpile.Memcached.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>
/// The near cache on memcached, which announces no changes: an entry is trusted for NearCacheOptions.Duration, the
/// bound on how long another process's write goes unseen; and it answers while memcached is down.
/// </summary>
public sealed class MemcachedNearCacheTests(MemcachedServer server) : IClassFixture<MemcachedServer>
{
    private static MemcachedClientOptions Client(string endpoint)
    {
        var options = new MemcachedClientOptions { DeadServerRetryDelay = TimeSpan.FromMilliseconds(200) };
        options.Servers.Add(endpoint);
        return options;
    }

    private static CacheRegion Region(MemcachedCacheBackend backend, string prefix, NearCacheOptions? near, TimeProvider time) => new(new CacheRegionOptions
    {
        Name = "near",
        Backend = backend,
        KeyPrefix = prefix,
        Expiration = TimeSpan.FromMinutes(5),
        NearCache = near,
    }, time);

    private async Task<long> GetsAsync() => long.Parse((await server.StatsAsync())["cmd_get"], CultureInfo.InvariantCulture);

    [Fact]
    public async Task WriteByAnotherProcess_UnseenForAtMostTheDuration_ThenSeen()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string prefix = $"near{Guid.NewGuid():N}:";
        using var writerBackend = new MemcachedCacheBackend(Client(server.Endpoint));
        using var readerBackend = new MemcachedCacheBackend(Client(server.Endpoint));
        await using CacheRegion writer = Region(writerBackend, prefix, null, time);
        await using CacheRegion reader = Region(readerBackend, prefix, new NearCacheOptions { Duration = TimeSpan.FromSeconds(1) }, time);
        await writer.SetAsync("k", "v1");
        Assert.Equal("v1", (await reader.GetAsync<string>("k")).Value);

        await writer.SetAsync("k", "v2");
        long gets = await GetsAsync();
        time.Advance(TimeSpan.FromMilliseconds(999));
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal("v1", await reader.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        }

        // Those hits never read memcached: the bound is what buys them.
        Assert.Equal(gets, await GetsAsync());

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("v2", await reader.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
    }

    [Fact]
    public async Task Statistics_NearCacheOnMemcached_IsTimeBounded_WithItsEntries()
    {
        string prefix = $"near{Guid.NewGuid():N}:";
        using var backend = new MemcachedCacheBackend(Client(server.Endpoint));
        await using CacheRegion region = Region(backend, prefix, new NearCacheOptions(), TimeProvider.System);
        await using CacheRegion plain = new(new CacheRegionOptions { Name = "plain" });

        await region.SetAsync("a", "1");
        await region.SetAsync("b", "2");

        CacheRegionStatistics stats = region.GetStatistics();
        Assert.Equal(NearCacheState.TimeBounded, stats.NearCache);
        Assert.Equal(2, stats.NearCacheEntries);
        Assert.Equal(NearCacheState.Off, plain.GetStatistics().NearCache);
    }

    [Fact]
    public async Task AddMemcached_RegionsGetANearCache_AFreshHitDoesNotReadMemcached()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddMemcached(o => o.Client.Servers.Add(server.Endpoint))
            .AddRegion("bugs", o => o.KeyPrefix = $"bugs{Guid.NewGuid():N}:")
            .AddRegion("direct", o =>
            {
                o.KeyPrefix = $"direct{Guid.NewGuid():N}:";
                o.NearCache = new NearCacheOptions { Enabled = false };
            });
        await using ServiceProvider provider = services.BuildServiceProvider();
        var bugs = provider.GetRequiredKeyedService<CacheRegion>("bugs");
        var direct = provider.GetRequiredKeyedService<CacheRegion>("direct");
        Assert.Equal("b", await bugs.GetOrCreateAsync("k", _ => new ValueTask<string>("b")));
        Assert.Equal("d", await direct.GetOrCreateAsync("k", _ => new ValueTask<string>("d")));

        long gets = await GetsAsync();
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("b", await bugs.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));
        }

        Assert.Equal(gets, await GetsAsync());
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("d", await direct.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));
        }

        Assert.Equal(gets + 10, await GetsAsync());
    }

    [Fact]
    public async Task MemcachedKilled_HeldKeyServedFromTheNearCache_PastItsTrust_CreatorNotCalledAgain()
    {
        using MemcachedServer own = await MemcachedServer.StartNewAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var backend = new MemcachedCacheBackend(Client(own.Endpoint));
        await using CacheRegion region = Region(backend, "outage:", new NearCacheOptions(), time);
        int creations = 0;
        ValueTask<string> Create(string value)
        {
            Interlocked.Increment(ref creations);
            return ValueTask.FromResult(value);
        }

        Assert.Equal("held", await region.GetOrCreateAsync("held", _ => Create("held")));

        await own.KillAsync();
        time.Advance(TimeSpan.FromSeconds(5));

        // No longer trusted, so memcached is asked; it fails, and the held (still fresh) entry answers.
        Assert.Equal("held", await region.GetOrCreateAsync("held", _ => Create("recreated")));
        Assert.Equal("held", (await region.GetAsync<string>("held")).Value);
        Assert.Equal(1, creations);
    }
}
