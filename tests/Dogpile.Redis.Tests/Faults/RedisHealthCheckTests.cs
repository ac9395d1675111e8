using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Hosting;

namespace Dogpile.Redis.Tests.Faults;

/// <summary>The Redis health checks against a real server that is stopped and started. Owns its server.</summary>
public sealed class RedisHealthCheckTests(RedisServer server) : IClassFixture<RedisServer>
{
    private ServiceProvider Build(Action<DogpileRedisOptions>? configure = null, bool worker = false)
    {
        string prefix = TestRedis.NewPrefix();
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        IDogpileBuilder dogpile = services.AddDogpile()
            .AddRegion("packages")
            .AddRedis(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.KeyPrefix = prefix;
                o.OperationTimeout = TimeSpan.FromMilliseconds(500);
                configure?.Invoke(o);
            });
        if (worker)
        {
            dogpile.AddRedisRefreshWorker();
        }

        services.AddHealthChecks().AddDogpileRedis().AddDogpileRedisQueue(maxWorkerSilence: TimeSpan.FromSeconds(30));
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task RedisUp_Healthy_RedisKilled_Degraded_WhileRegionsServe_ThenHealthyAgain()
    {
        await using ServiceProvider provider = Build();
        HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
        CacheRegion region = provider.GetRequiredKeyedService<CacheRegion>("packages");

        HealthReport up = await health.CheckHealthAsync(r => r.Name == "dogpile-redis");
        Assert.Equal(HealthStatus.Healthy, up.Status);
        Assert.Equal("Closed", up.Entries["dogpile-redis"].Data["breaker"]);

        server.Stop();
        try
        {
            Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
            HealthReport down = await health.CheckHealthAsync();
            Assert.Equal(HealthStatus.Degraded, down.Entries["dogpile-redis"].Status);
            Assert.Contains("degraded mode", down.Entries["dogpile-redis"].Description, StringComparison.Ordinal);
            Assert.Equal(HealthStatus.Degraded, down.Entries["dogpile-redis-queue"].Status);
            Assert.Equal(HealthStatus.Degraded, down.Status);
        }
        finally
        {
            await server.StartAsync();
        }

        await Eventually.TrueAsync(
            async () => (await health.CheckHealthAsync(r => r.Name == "dogpile-redis")).Status == HealthStatus.Healthy,
            "the check is healthy once Redis is back",
            TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task RedisKilled_ThrowPolicy_Unhealthy()
    {
        await using ServiceProvider provider = Build(o => o.FailurePolicy = CacheBackendFailurePolicy.Throw);
        HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(r => r.Name == "dogpile-redis")).Status);

        server.Stop();
        try
        {
            HealthReport down = await health.CheckHealthAsync(r => r.Name == "dogpile-redis");
            Assert.Equal(HealthStatus.Unhealthy, down.Status);
        }
        finally
        {
            await server.StartAsync();
        }
    }

    [Fact]
    public async Task Queue_NoWorkerEver_Degraded_WithAWorkerReading_Healthy()
    {
        await using (ServiceProvider lonely = Build())
        {
            HealthReport report = await lonely.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "dogpile-redis-queue");
            HealthReportEntry queue = report.Entries["dogpile-redis-queue"];
            Assert.Equal(HealthStatus.Degraded, queue.Status);
            Assert.Contains("no worker has ever read the queue", queue.Description, StringComparison.Ordinal);
        }

        await using ServiceProvider served = Build(worker: true);
        foreach (IHostedService hosted in served.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        HealthCheckService health = served.GetRequiredService<HealthCheckService>();
        await Eventually.TrueAsync(
            async () => (await health.CheckHealthAsync(r => r.Name == "dogpile-redis-queue")).Status == HealthStatus.Healthy,
            "a worker reads the queue",
            TimeSpan.FromSeconds(10));
        HealthReportEntry entry = (await health.CheckHealthAsync(r => r.Name == "dogpile-redis-queue")).Entries["dogpile-redis-queue"];
        Assert.Equal(0L, entry.Data["deadLetters"]);
        Assert.InRange((double)entry.Data["lastWorkerReadMsAgo"], 0, 10_000);

        foreach (IHostedService hosted in served.GetServices<IHostedService>())
        {
            await hosted.StopAsync(CancellationToken.None);
        }
    }
}
