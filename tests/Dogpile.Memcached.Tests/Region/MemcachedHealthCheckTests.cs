using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>The memcached health check against real servers, one of which is killed and restarted.</summary>
public sealed class MemcachedHealthCheckTests
{
    private static ServiceProvider Build(string[] servers, CacheBackendFailurePolicy? policy = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddDogpile().AddRegion("packages").AddMemcached(o =>
        {
            foreach (string server in servers)
            {
                o.Client.Servers.Add(server);
            }

            o.Client.RequestTimeout = TimeSpan.FromMilliseconds(500);
            o.Backend.FailurePolicy = policy;
        });
        services.AddHealthChecks().AddDogpileMemcached();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task ServersUp_Healthy_OneKilled_DegradedNamingIt_ThenHealthyAgain()
    {
        using var servers = await TwoMemcachedServers.StartNewAsync();
        await using ServiceProvider provider = Build([servers.First.Endpoint, servers.Second.Endpoint]);
        HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        await servers.Second.KillAsync();
        HealthReportEntry down = (await health.CheckHealthAsync()).Entries["dogpile-memcached"];
        Assert.Equal(HealthStatus.Degraded, down.Status);
        Assert.Contains(servers.Second.Endpoint, down.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(servers.First.Endpoint, down.Description, StringComparison.Ordinal);

        await servers.Second.StartAsync();
        await Eventually.TrueAsync(
            async () => (await health.CheckHealthAsync()).Status == HealthStatus.Healthy,
            "the check is healthy once the server is back",
            TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ServerKilled_ThrowPolicy_Unhealthy()
    {
        using var server = await MemcachedServer.StartNewAsync();
        await using ServiceProvider provider = Build([server.Endpoint], CacheBackendFailurePolicy.Throw);
        HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
        await server.KillAsync();

        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
    }
}
