using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.Hosting;

namespace Dogpile.Redis.Tests;

public sealed class RedisConnectionCountTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task TenThousandConcurrentGetsAndRefreshes_ConnectionCountStaysConstant()
    {
        string clientName = "dp-" + Guid.NewGuid().ToString("N")[..8];
        await using DogpileRedis redis = TestRedis.Create(server, o => o.Configuration!.ClientName = clientName);
        await using CacheRegion region = TestRedis.Region(redis, "load", o => o.BackgroundRefresh = true, useQueue: true);
        CachedFunction<int, string> fetch = region.CreateFunction<int, string>("fetch", (i, _) => ValueTask.FromResult("fresh-" + i));
        using BackgroundService worker = redis.CreateWorker(n => n == region.Name ? region : null, new RedisRefreshWorkerOptions { MaxConcurrency = 16, PollInterval = TimeSpan.FromMilliseconds(50) });
        await worker.StartAsync(CancellationToken.None);

        // Warm up: data connection, subscriptions, a lock wait.
        await using (await redis.LockProvider.AcquireAsync("load:warm", TimeSpan.FromSeconds(5), valueProduced: null, CancellationToken.None))
        {
        }

        const int Keys = 200;
        for (int i = 0; i < Keys; i++)
        {
            await fetch.SetAsync(i, "old");
            await region.SetAsync(fetch.KeyFor(i), "old", new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        }

        await Eventually.TrueAsync(async () => (await region.GetItemAsync<string>(fetch.KeyFor(Keys - 1)))?.IsStale == true, "the values are stale");
        int before = await server.ClientCountAsync(clientName);
        Assert.InRange(before, 1, 2);

        // 10,000 concurrent calls: stale reads electing refreshes (enqueued, deduplicated, run by the worker),
        // cold creations under the distributed lock, and plain hits.
        int[] samples = new int[5];
        Task load = Task.WhenAll(Enumerable.Range(0, 10_000).Select(i => Task.Run(async () =>
        {
            if (i % 2 == 0)
            {
                await fetch.InvokeAsync((i / 2) % Keys);
            }
            else
            {
                await region.GetOrCreateAsync("cold-" + (i % 500), _ => ValueTask.FromResult("v"));
            }
        })));
        for (int s = 0; s < samples.Length && !load.IsCompleted; s++)
        {
            samples[s] = await server.ClientCountAsync(clientName);
            await Task.Delay(20);
        }

        await load;
        await Eventually.TrueAsync(async () => (await redis.GetQueueSnapshotAsync()) is { Length: 0, Completed: >= Keys }, "the worker ran every refresh", TimeSpan.FromSeconds(30));
        Assert.True((await fetch.GetAsync(Keys - 1)).HasValue);
        await worker.StopAsync(CancellationToken.None);

        Assert.All(samples.Where(s => s != 0), s => Assert.Equal(before, s));
        Assert.Equal(before, await server.ClientCountAsync(clientName));
    }
}
