using System.Globalization;
using System.Text;
using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;

namespace Dogpile.Memcached.Tests;

public sealed class ConnectionPoolTests : IClassFixture<MemcachedServer>
{
    private readonly MemcachedServer _server;

    public ConnectionPoolTests(MemcachedServer server) => _server = server;

    private MemcachedClient NewClient(int maxConnections)
    {
        var options = new MemcachedClientOptions
        {
            MaxConnectionsPerServer = maxConnections,
            // Thousands of callers queue behind a handful of sockets: allow for a slow CI box.
            PoolWaitTimeout = TimeSpan.FromSeconds(60),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        options.Servers.Add(_server.Endpoint);
        return new MemcachedClient(options);
    }

    [Fact]
    public async Task TenThousandConcurrentCalls_NeverOpenMoreSocketsThanTheCap()
    {
        const int cap = 4;
        using var client = NewClient(cap);
        await using var stats = await _server.OpenStatsSessionAsync();
        var baseline = await stats.CurrentConnectionsAsync();
        await client.SetAsync("pool:key", "v"u8.ToArray(), 0, TimeSpan.FromMinutes(5));

        using var done = new CancellationTokenSource();
        var maxSeen = 0;
        var sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                maxSeen = Math.Max(maxSeen, client.OpenConnectionCount);
                await Task.Yield();
            }
        });
        var maxServerSide = 0;
        var serverSampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                // The baseline already counts the stats connection itself.
                maxServerSide = Math.Max(maxServerSide, await stats.CurrentConnectionsAsync() - baseline);
                await Task.Delay(10);
            }
        });

        using var gate = new ManualResetEventSlim();
        var calls = Enumerable.Range(0, 10_000).Select(i => Task.Run(async () =>
        {
            gate.Wait();
            var result = await client.GetAsync("pool:key");
            Assert.True(result.Found);
        })).ToArray();
        gate.Set();
        await Task.WhenAll(calls);
        await done.CancelAsync();
        await Task.WhenAll(sampler, serverSampler);

        Assert.InRange(maxSeen, 1, cap);
        Assert.InRange(client.OpenConnectionCount, 1, cap);
        Assert.InRange(maxServerSide, 0, cap);
        Assert.InRange(await stats.CurrentConnectionsAsync() - baseline, 1, cap);
    }

    [Fact]
    public async Task ConcurrentMixedCalls_OnTwoConnections_EachCallerGetsItsOwnReply()
    {
        using var client = NewClient(2);
        await using var stats = await _server.OpenStatsSessionAsync();
        var before = long.Parse((await stats.StatsAsync())["total_connections"], CultureInfo.InvariantCulture);

        var calls = Enumerable.Range(0, 2000).Select(i => Task.Run(async () =>
        {
            var key = $"mixed:{i}";
            var value = Encoding.UTF8.GetBytes($"value-{i}");
            Assert.True((await client.SetAsync(key, value, (uint)i, TimeSpan.FromMinutes(1))).Stored);
            var result = await client.GetAsync(key);
            Assert.Equal(value, result.Value.ToArray());
            Assert.Equal((uint)i, result.Flags);
            Assert.Equal(MemcachedDeleteStatus.Deleted, await client.DeleteAsync(key));
        }));
        await Task.WhenAll(calls);

        var after = long.Parse((await stats.StatsAsync())["total_connections"], CultureInfo.InvariantCulture);
        // Every socket ever accepted in between was one of ours.
        Assert.InRange(after - before, 1, 2);
        Assert.InRange(client.OpenConnectionCount, 1, 2);
    }

    [Fact]
    public async Task GetMany_PipelinesThousandKeysOverOneConnection()
    {
        using var client = NewClient(1);
        var keys = Enumerable.Range(0, 1000).Select(i => $"pipe:{i}").ToArray();
        foreach (var key in keys.Where((_, i) => i % 3 != 0))
        {
            await client.SetAsync(key, Encoding.UTF8.GetBytes(key), 0, TimeSpan.FromMinutes(1));
        }

        var results = await client.GetManyAsync(keys);

        Assert.Equal(keys.Count(k => int.Parse(k[5..], CultureInfo.InvariantCulture) % 3 != 0), results.Count);
        Assert.All(results, pair => Assert.Equal(pair.Key, Encoding.UTF8.GetString(pair.Value.Value.Span)));
        Assert.Equal(1, client.OpenConnectionCount);
    }

    [Fact]
    public async Task PoolExhausted_WaitingCallerTimesOutWithClearException()
    {
        await using var fake = new FakeMemcachedServer(FakeMemcachedServer.NeverReply());
        var options = new MemcachedClientOptions
        {
            MaxConnectionsPerServer = 1,
            PoolWaitTimeout = TimeSpan.FromMilliseconds(200),
            RequestTimeout = TimeSpan.FromSeconds(30),
        };
        options.Servers.Add(fake.Endpoint);
        using var client = new MemcachedClient(options);
        using var cancelFirst = new CancellationTokenSource();

        var first = client.GetAsync("held", cancelFirst.Token).AsTask();
        await WaitUntilAsync(() => fake.AcceptedConnections == 1);
        var second = await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await client.GetAsync("waiting"));
        await cancelFirst.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Contains("busy", second.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.OpenConnectionCount);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}
