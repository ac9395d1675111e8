using System.Globalization;
using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>The region over memcached when servers die and come back, over two servers, and under 10,000 callers.</summary>
public sealed class MemcachedRegionFailureAndScaleTests
{
    private static MemcachedClientOptions Options(int cap, params string[] servers)
    {
        var options = new MemcachedClientOptions
        {
            MaxConnectionsPerServer = cap,
            // Generous: 10,000 continuations queued at once can delay a connect's completion past a tight timeout.
            ConnectTimeout = TimeSpan.FromSeconds(5),
            DeadServerRetryDelay = TimeSpan.FromMilliseconds(200),
            PoolWaitTimeout = TimeSpan.FromSeconds(60),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        foreach (var server in servers)
        {
            options.Servers.Add(server);
        }

        return options;
    }

    private static CacheRegion Region(MemcachedCacheBackend backend, string name) => new(new CacheRegionOptions
    {
        Name = name,
        Backend = backend,
        LockProvider = new MemcachedLockProvider(backend),
        KeyPrefix = $"{name}{Guid.NewGuid():N}:",
        LockTimeout = TimeSpan.FromSeconds(60),
    });

    [Fact]
    public async Task ServerKilledAndRestarted_ThrowPolicy_RegionCallsFailClearlyWhileDown_AndWorkAfterRestart()
    {
        using var server = await MemcachedServer.StartNewAsync();
        using var backend = new MemcachedCacheBackend(Options(4, server.Endpoint), new MemcachedCacheBackendOptions { FailurePolicy = CacheBackendFailurePolicy.Throw });
        await using var region = Region(backend, "restart");
        int creations = 0;
        ValueTask<string> Create(CancellationToken _) => new($"v{Interlocked.Increment(ref creations)}");
        Assert.Equal("v1", await region.GetOrCreateAsync("k", Create));

        await server.KillAsync();

        // First the pooled socket finds the server gone, then the reconnect is refused and opens its breaker.
        var failures = new List<CacheBackendUnavailableException>();
        while (failures.Count < 6 && failures.LastOrDefault()?.InnerException is not MemcachedServerUnavailableException)
        {
            failures.Add(await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await region.GetOrCreateAsync("k", Create)));
        }

        Assert.IsType<MemcachedServerUnavailableException>(failures[^1].InnerException);
        Assert.Equal(CacheBackendFailure.BreakerOpen, failures[^1].Failure);
        Assert.All(failures, f => Assert.Contains(server.Endpoint.Split(':')[1], f.Message, StringComparison.Ordinal));
        await Assert.ThrowsAsync<CacheBackendUnavailableException>(async () => await region.GetAsync<string>("k"));
        Assert.Equal(1, creations);
        Assert.Equal(0, backend.OpenConnectionCount);

        await server.StartAsync();

        // Once the dead-server delay passes the region works again; a restarted memcached is empty, so "k" is recreated.
        string? value = null;
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                value = await region.GetOrCreateAsync("k", Create);
                return true;
            }
            catch (CacheBackendUnavailableException)
            {
                return false;
            }
        }, "the region reads from the restarted server", TimeSpan.FromSeconds(5));
        Assert.Equal("v2", value);
        Assert.Equal("v2", (await region.GetAsync<string>("k")).Value);

        // Nothing left behind: no creation lock on the key, in this process or on the server.
        Assert.False(await region.IsLockedAsync("k"));
    }

    [Fact]
    public async Task TwoServers_RegionKeysSpreadOverBoth_AndMultiGetReadsFromBoth()
    {
        using var servers = await TwoMemcachedServers.StartNewAsync();
        using var backend = new MemcachedCacheBackend(Options(4, servers.First.Endpoint, servers.Second.Endpoint));
        await using var region = Region(backend, "two");
        string[] keys = Enumerable.Range(0, 200).Select(i => $"package-{i}").ToArray();

        await Task.WhenAll(keys.Select(k => region.GetOrCreateAsync(k, _ => new ValueTask<string>("v-" + k)).AsTask()));

        int first = await ItemsAsync(servers.First), second = await ItemsAsync(servers.Second);
        Assert.Equal(200, first + second); // every lock was released: only values remain
        Assert.InRange(first, 40, 160);
        CacheResult<string>[] read = await region.GetManyAsync<string>(keys);
        Assert.All(read.Zip(keys), p => Assert.Equal("v-" + p.Second, p.First.Value));
        Assert.InRange(backend.OpenConnectionCount, 2, 8);
    }

    [Fact]
    public async Task TenThousandConcurrentRefreshes_ConnectionsStayAtTheCap()
    {
        const int cap = 4;
        using var server = await MemcachedServer.StartNewAsync();
        using var backend = new MemcachedCacheBackend(Options(cap, server.Endpoint));
        await using var region = Region(backend, "scale");
        await using var stats = await server.OpenStatsSessionAsync();
        int baseline = await stats.CurrentConnectionsAsync();

        using var done = new CancellationTokenSource();
        int maxClient = 0, maxServer = 0;
        Task sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                maxClient = Math.Max(maxClient, backend.OpenConnectionCount);
                maxServer = Math.Max(maxServer, await stats.CurrentConnectionsAsync() - baseline);
                await Task.Delay(5);
            }
        });

        int creations = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<string>[] callers = Enumerable.Range(0, 10_000).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await region.GetOrCreateAsync($"key-{i}", _ =>
            {
                Interlocked.Increment(ref creations);
                return new ValueTask<string>(i.ToString(CultureInfo.InvariantCulture));
            });
        })).ToArray();
        gate.SetResult();
        string[] values = await Task.WhenAll(callers);
        await done.CancelAsync();
        await sampler;

        Assert.Equal(10_000, creations);
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => i.ToString(CultureInfo.InvariantCulture)), values);
        Assert.InRange(maxClient, 1, cap);
        Assert.InRange(maxServer, 0, cap);
        Assert.InRange(backend.OpenConnectionCount, 1, cap);
        Assert.InRange(await stats.CurrentConnectionsAsync() - baseline, 1, cap);
    }

    private static async Task<int> ItemsAsync(MemcachedServer server) =>
        int.Parse((await server.StatsAsync())["curr_items"], CultureInfo.InvariantCulture);
}
