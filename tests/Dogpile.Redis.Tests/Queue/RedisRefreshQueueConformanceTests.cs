using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.Hosting;

namespace Dogpile.Redis.Tests.Queue;

/// <summary>The refresh-runner contract for the durable Redis queue, with a worker reading it.</summary>
public sealed class RedisRefreshQueueConformanceTests(RedisServer server) : RefreshRunnerConformanceTests, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly DogpileRedis _redis = TestRedis.Create(server);
    private readonly List<CacheRegion> _regions = [];
    private readonly List<BackgroundService> _workers = [];

    protected override async ValueTask<CacheRegion> CreateRegionAsync(string name, Action<CacheRegionOptions> configure)
    {
        CacheRegion region = TestRedis.Region(_redis, name, configure, useQueue: true);
        _regions.Add(region);
        BackgroundService worker = _redis.CreateWorker(
            n => n == region.Name ? region : null,
            new RedisRefreshWorkerOptions { MinIdleTime = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromMilliseconds(50), ShutdownTimeout = TimeSpan.FromSeconds(2) });
        _workers.Add(worker);
        await worker.StartAsync(CancellationToken.None);
        return region;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (BackgroundService worker in _workers)
        {
            await worker.StopAsync(CancellationToken.None);
            worker.Dispose();
        }

        foreach (CacheRegion region in _regions)
        {
            await region.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }
}
