using Dogpile.Memcached.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dogpile.Memcached.Tests.Region;

public sealed class DependencyInjectionTests(MemcachedServer server) : IClassFixture<MemcachedServer>
{
    [Fact]
    public async Task AddMemcached_EveryRegionWithoutItsOwnBackendSharesOneClientBackendAndLock()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddMemcached(o =>
            {
                o.Client.Servers.Add(server.Endpoint);
                o.Lock.Lease = TimeSpan.FromSeconds(10);
            })
            .AddRegion("bugs", o => o.KeyPrefix = $"bugs{Guid.NewGuid():N}:")
            .AddRegion("search", o => o.KeyPrefix = $"search{Guid.NewGuid():N}:")
            .AddRegion("local", o => o.Backend = new MemoryCacheBackend(10, TimeProvider.System));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var bugs = provider.GetRequiredKeyedService<CacheRegion>("bugs");
        var search = provider.GetRequiredKeyedService<CacheRegion>("search");
        var local = provider.GetRequiredKeyedService<CacheRegion>("local");
        var memcached = provider.GetRequiredService<DogpileMemcached>();
        var backend = Assert.IsType<MemcachedCacheBackend>(memcached.Backend);
        var locks = Assert.IsType<MemcachedLockProvider>(memcached.LockProvider);

        Assert.Same(backend, bugs.Backend);
        Assert.Same(backend, search.Backend);
        Assert.IsType<MemoryCacheBackend>(local.Backend);
        Assert.Same(backend.Client, locks.Client);
        Assert.Equal(TimeSpan.FromSeconds(10), locks.Lease);

        Assert.Equal("b", await bugs.GetOrCreateAsync("k", _ => new ValueTask<string>("b")));
        Assert.Equal("s", await search.GetOrCreateAsync("k", _ => new ValueTask<string>("s")));
        Assert.Equal("b", (await bugs.GetAsync<string>("k")).Value);
        Assert.InRange(backend.OpenConnectionCount, 1, new MemcachedClientOptions().MaxConnectionsPerServer);
    }

    [Fact]
    public void AddMemcached_InvalidClientOptions_FailWhenResolvedNamingTheOption()
    {
        var services = new ServiceCollection();
        services.AddDogpile().AddMemcached(o =>
        {
            o.Client.Servers.Add(server.Endpoint);
            o.Client.MaxConnectionsPerServer = 0;
        }).AddRegion("r");
        using ServiceProvider provider = services.BuildServiceProvider();

        // The options' validator runs when they are first read (and at host start): the options pattern's own exception.
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<DogpileMemcached>());
        Assert.Contains("MaxConnectionsPerServer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddMemcached_RegionsWithoutAPrefix_GetTheirNameAsPrefixAsWithRedis()
    {
        var services = new ServiceCollection();
        services.AddDogpile()
            .AddMemcached(o =>
            {
                o.Client.Servers.Add(server.Endpoint);
                o.Backend.KeyPrefix = $"t{Guid.NewGuid():N}/";
            })
            .AddRegion("bugs")
            .AddRegion("mine", o => o.KeyPrefix = "own:");
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Equal("b", await provider.GetRequiredKeyedService<CacheRegion>("bugs").GetOrCreateAsync("k", _ => new ValueTask<string>("b")));
        var backend = (MemcachedCacheBackend)provider.GetRequiredService<DogpileMemcached>().Backend;
        Assert.NotNull(await backend.GetAsync("bugs:k", CancellationToken.None));
        var mine = new CacheRegionOptions { Name = "mine", KeyPrefix = "own:" };
        provider.GetRequiredService<DogpileMemcached>().ApplyTo(mine);
        Assert.Equal("own:", mine.KeyPrefix);
    }

    [Fact]
    public async Task AddMemcached_FromConfiguration_BindsClientLockAndBackendOptions()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dogpile:Memcached:Client:Servers:0"] = server.Endpoint,
            ["Dogpile:Memcached:Client:MaxConnectionsPerServer"] = "3",
            ["Dogpile:Memcached:Lock:Lease"] = "00:00:12",
            ["Dogpile:Memcached:Backend:KeyPrefix"] = "app/",
        }).Build();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddDogpile().AddMemcached(config.GetSection("Dogpile:Memcached")).AddRegion("bugs");
        using IHost host = builder.Build();

        await host.StartAsync();
        DogpileMemcached memcached = host.Services.GetRequiredService<DogpileMemcached>();
        await host.StopAsync();

        Assert.Equal([server.Endpoint], memcached.Options.Client.Servers);
        Assert.Equal(3, memcached.Options.Client.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromSeconds(12), ((MemcachedLockProvider)memcached.LockProvider).Lease);
        Assert.Equal("app/", memcached.Options.Backend.KeyPrefix);
    }

    [Fact]
    public async Task Start_MemcachedSectionWithTyposAndBadValues_FailsListingEveryProblem()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dogpile:Memcached:Servers:0"] = "cache1:11211",                // belongs under Client:
            ["Dogpile:Memcached:Client:RequestTimeout"] = "00:00:00",
            ["Dogpile:Memcached:Lock:Lease"] = "00:00:01",
        }).Build();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddDogpile().AddMemcached(config.GetSection("Dogpile:Memcached"));
        using IHost host = builder.Build();

        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("'Dogpile:Memcached:Servers' is not an option of DogpileMemcachedOptions", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MemcachedClientOptions.Servers must list at least one server", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MemcachedClientOptions.RequestTimeout must be positive", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MemcachedLockOptions.Lease must be at least 2 seconds", ex.Message, StringComparison.Ordinal);
    }
}
