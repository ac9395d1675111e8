using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dogpile.Tests.Configuration;

/// <summary>Region options are checked when the host starts: every problem, typos in configuration included, in one message.</summary>
public sealed class StartupValidationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values)
        => new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static IHost Host(Action<IServiceCollection> configure)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task Start_RegionSectionWithTyposAndBadValues_FailsListingEveryProblem()
    {
        IConfiguration config = Config(
            ("Dogpile:Regions:bugs:Expiraton", "00:05:00"),
            ("Dogpile:Regions:bugs:StaleWindow", "-00:00:01"),
            ("Dogpile:Regions:bugs:MaxConcurrentRefreshes", "0"),
            ("Dogpile:Regions:bugs:Memory:Capacty", "10"),
            ("Dogpile:Regions:bugs:Backend", "redis"));
        using IHost host = Host(s => s.AddDogpile().AddRegion("bugs", config.GetSection("Dogpile:Regions:bugs")));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("'Dogpile:Regions:bugs:Expiraton' is not an option of CacheRegionOptions", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'Dogpile:Regions:bugs:Memory:Capacty' is not an option of MemoryCacheBackendOptions", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'Dogpile:Regions:bugs:Backend'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CacheRegionOptions.StaleWindow must not be negative", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CacheRegionOptions.MaxConcurrentRefreshes must be between 1 and 4096, not 0", ex.Message, StringComparison.Ordinal);
        Assert.Equal(5, ex.Failures.Count());
    }

    [Fact]
    public async Task Start_RegionConfiguredInCode_FailsListingEveryProblemOfEveryRegion()
    {
        using IHost host = Host(s => s.AddDogpile()
            .AddRegion("a", o => o.Expiration = TimeSpan.FromSeconds(-1))
            .AddRegion("b", o => { o.RefreshBacklog = -1; o.EarlyRefreshRatio = 2; })
            .AddRegion("c", o => o.MaxConcurrentRefreshes = 5000));

        // One exception per region's options, both reported by the one start-up check.
        var ex = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync());

        Assert.Equal(3, ex.InnerExceptions.Count);
        Assert.Contains("CacheRegionOptions.Expiration must be positive", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CacheRegionOptions.RefreshBacklog must be between 0 and 1000000, not -1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CacheRegionOptions.EarlyRefreshRatio must be between 0 and 1", ex.Message, StringComparison.Ordinal);

        // The documented range, once declared as [Range(1, 4096)] and never checked.
        Assert.Contains("CacheRegionOptions.MaxConcurrentRefreshes must be between 1 and 4096, not 5000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ValidSection_StartsAndTheRegionHasTheBoundValues()
    {
        IConfiguration config = Config(
            ("Dogpile:Regions:bugs:Expiration", "00:00:30"),
            ("Dogpile:Regions:bugs:backgroundRefresh", "true"),   // keys are matched without regard to case, as the binder does
            ("Dogpile:Regions:bugs:Memory:Capacity", "10"));
        using IHost host = Host(s => s.AddDogpile().AddRegion("bugs", config.GetSection("Dogpile:Regions:bugs")));

        await host.StartAsync();
        CacheRegion bugs = host.Services.GetRequiredKeyedService<CacheRegion>("bugs");
        CacheRegionOptions options = host.Services.GetRequiredService<IOptionsMonitor<CacheRegionOptions>>().Get("bugs");
        await host.StopAsync();

        Assert.Equal(TimeSpan.FromSeconds(30), bugs.DefaultExpiration);
        Assert.True(options.BackgroundRefresh);
        Assert.Equal(10, ((MemoryCacheBackend)bugs.Backend).Capacity);
    }

    [Fact]
    public void Validate_SeveralProblems_OneArgumentExceptionListsThemAllAndNamesTheFirst()
    {
        var options = new CacheRegionOptions { Name = "", Expiration = TimeSpan.Zero, LockTimeout = TimeSpan.FromSeconds(-5) };

        var ex = Assert.Throws<ArgumentException>(() => new CacheRegion(options));

        Assert.StartsWith("3 problems: CacheRegionOptions.Name is required.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CacheRegionOptions.Expiration must be positive", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CacheRegionOptions.LockTimeout must be positive", ex.Message, StringComparison.Ordinal);
        Assert.Equal("Name", ex.ParamName);
    }
}
