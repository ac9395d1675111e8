using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Region;

// Alone: the dogpile.hits instrument is process-wide, so a collector in a parallel test would count hits here.
[Collection(nameof(DependencyInjectionAndMetricsTests))]
[CollectionDefinition(nameof(DependencyInjectionAndMetricsTests), DisableParallelization = true)]
public sealed class DependencyInjectionAndMetricsTests
{
    [Fact]
    public async Task AddDogpile_NamedRegionsBoundFromConfiguration_ResolvedByNameAndKey()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dogpile:Regions:bugs:Expiration"] = "00:00:42",
            ["Dogpile:Regions:bugs:BackgroundRefresh"] = "true",
            ["Dogpile:Regions:bugs:MaxConcurrentRefreshes"] = "2",
        }).Build();
        var time = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddDogpile()
            .AddRegion("bugs", config.GetSection("Dogpile:Regions:bugs"))
            .AddRegion("packages", o => o.Expiration = TimeSpan.FromMinutes(10));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var regions = provider.GetRequiredService<ICacheRegionProvider>();
        CacheRegion bugs = regions.GetRegion("bugs");
        Assert.Same(bugs, provider.GetRequiredKeyedService<CacheRegion>("bugs"));
        Assert.Equal(TimeSpan.FromSeconds(42), bugs.DefaultExpiration);
        Assert.Equal(TimeSpan.FromMinutes(10), regions.GetRegion("packages").DefaultExpiration);
        Assert.Equal(["bugs", "packages"], regions.RegionNames.Order());

        // The region uses the registered TimeProvider.
        await bugs.SetAsync("k", "v");
        time.Advance(TimeSpan.FromSeconds(43));
        Assert.False((await bugs.GetAsync<string>("k")).HasValue);

        Assert.Contains("No cache region named 'nope'", Assert.Throws<ArgumentException>(() => regions.GetRegion("nope")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceProvider_DisposedSynchronously_DisposesTheRegionsWithoutThrowing()
    {
        var services = new ServiceCollection();
        services.AddDogpile().AddRegion("sync", o => o.BackgroundRefresh = true);
        CacheRegion region;
        using (ServiceProvider provider = services.BuildServiceProvider())
        {
            // Resolved by key too: the container then owns (and disposes) the instance its factory returned.
            region = provider.GetRequiredKeyedService<CacheRegion>("sync");
            Assert.Same(region, provider.GetRequiredService<ICacheRegionProvider>().GetRegion("sync"));
            Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(1)));
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await region.GetOrCreateAsync("other", _ => new ValueTask<int>(2)));
    }

    [Fact]
    public async Task AddDogpile_InvalidBoundOptions_ClearErrorNamingOption()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["r:StaleWindow"] = "00:01:00",
            ["r:MaxStaleness"] = "00:05:00",
        }).Build();
        var services = new ServiceCollection();
        services.AddDogpile().AddRegion("r", config.GetSection("r"));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var ex = Assert.Throws<ArgumentException>(() => provider.GetRequiredService<ICacheRegionProvider>().GetRegion("r"));
        Assert.Contains("MaxStaleness", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ReportedThroughSystemDiagnosticsMetrics_TaggedByRegion()
    {
        string name = "metrics-" + Guid.NewGuid().ToString("N");
        await using var region = new CacheRegion(new CacheRegionOptions { Name = name });
        using var hits = new MetricCollector<long>(null, "Dogpile", "dogpile.hits");
        using var misses = new MetricCollector<long>(null, "Dogpile", "dogpile.misses");
        using var creations = new MetricCollector<long>(null, "Dogpile", "dogpile.creations");

        await region.GetOrCreateAsync("k", _ => new ValueTask<int>(1));
        await region.GetOrCreateAsync("k", _ => new ValueTask<int>(1));
        await region.GetOrCreateAsync("k", _ => new ValueTask<int>(1));
        hits.RecordObservableInstruments();
        misses.RecordObservableInstruments();
        creations.RecordObservableInstruments();

        Assert.Equal(2, hits.GetMeasurementSnapshot().Single(m => (string?)m.Tags["region"] == name).Value);
        Assert.Equal(1, misses.GetMeasurementSnapshot().Single(m => (string?)m.Tags["region"] == name).Value);
        Assert.Equal(1, creations.GetMeasurementSnapshot().Single(m => (string?)m.Tags["region"] == name).Value);
    }

    [Fact]
    public async Task Hits_ByDefault_CountedOnlyWhileAListenerCollectsThem()
    {
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "unobserved-" + Guid.NewGuid().ToString("N") });
        await region.SetAsync("k", 1);

        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(2)));
        Assert.Equal(0, region.GetStatistics().Hits);

        using (var hits = new MetricCollector<long>(null, "Dogpile", "dogpile.hits"))
        {
            Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(2)));
            Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(2)));
            Assert.Equal(2, region.GetStatistics().Hits);
        }

        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(2)));
        Assert.Equal(2, region.GetStatistics().Hits);
    }

    [Fact]
    public async Task Hits_WithCountHits_CountedWithoutAListener_AndBoundFromConfiguration()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["r:CountHits"] = "true",
        }).Build();
        var services = new ServiceCollection();
        services.AddDogpile().AddRegion("r", config.GetSection("r"));
        await using ServiceProvider provider = services.BuildServiceProvider();
        CacheRegion region = provider.GetRequiredService<ICacheRegionProvider>().GetRegion("r");
        await region.SetAsync("k", 1);

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(2)));
        }

        int[] many = await region.GetOrCreateManyAsync<int>(["k"], (_, _) => throw new InvalidOperationException("a hit creates nothing"));
        Assert.Equal([1], many);
        Assert.Equal(4, region.GetStatistics().Hits);
    }
}
