using System.Diagnostics;
using System.Globalization;
using Dogpile.Memcached;
using StackExchange.Redis;

namespace Dogpile.DistributedBenchmarks;

/// <summary>
/// Scenario 5: 10,000 stale keys read at once with background refresh on; the server's view of our connections is
/// sampled all along. The Fedora Packages outage was a connection per refresh; the count must not move.
/// </summary>
internal static partial class Sections
{
    private const int StaleKeys = 10_000;
    private const int RefreshConcurrency = 64;

    private sealed record ConnectionRun(string Backend, string Cap, int Min, int Max, int Samples, long Refreshed, double Seconds, CacheRegionStatistics Stats);

    public static async Task<string> ConnectionsAsync(string redis, string memcached)
    {
        ConnectionRun r = await RedisConnectionsAsync(redis);
        ConnectionRun m = await MemcachedConnectionsAsync(memcached);
        string Row(ConnectionRun c) => string.Create(CultureInfo.InvariantCulture,
            $"| {c.Backend} | {c.Cap} | {c.Min} | {c.Max} | {c.Samples} | {Fmt.N(c.Refreshed)} | {c.Stats.RefreshesSkipped} | {c.Seconds:F1} |\n");
        bool redisMet = r.Max <= 2 && r.Min == r.Max;
        bool mcMet = m.Max <= 8;
        Targets.Add(40, "Connections constant under 10,000 concurrent refreshes (Redis)", $"{r.Min}–{r.Max} (one multiplexer)", redisMet);
        Targets.Add(41, "Connections constant under 10,000 concurrent refreshes (memcached, cap 8)", $"{m.Min}–{m.Max}", mcMet);
        return string.Create(CultureInfo.InvariantCulture, $"""
            ## 5. Connections under 10,000 concurrent refreshes

            {Fmt.N(StaleKeys)} keys are written, left to go stale (`Expiration` 1 s, `StaleWindow` 10 min), then read all at once with
            `GetOrCreateAsync` and `BackgroundRefresh = true` (in-process runner, `MaxConcurrentRefreshes` {RefreshConcurrency}, `RefreshBacklog`
            {Fmt.N(StaleKeys)}; each refresh takes the key's distributed lock, runs a 5 ms creator, writes and releases). Every caller gets the
            stale value at once; the refreshes run behind. While they run, a separate admin connection samples the server every
            ~10 ms: Redis `CLIENT LIST` (clients named `{Peers.ClientName}`), memcached `stats curr_connections` over one
            long-lived socket (minus the count measured before the client existed: the sampler's own connection and the listener).

            * Redis: {Peers.DogpileRedisConfig}; one multiplexer.
            * memcached: {Peers.MemcachedConfig}.

            | Backend | Configured cap | Min connections | Max connections | Samples | Refreshes run | Refreshes skipped | Seconds |
            | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
            {Row(r)}{Row(m)}
            **Target** (constant at the configured cap): Redis **{(redisMet ? "met" : "not met")}** ({r.Min}–{r.Max}), memcached **{(mcMet ? "met" : "not met")}**
            ({m.Min}–{m.Max}; the pool opens connections on demand up to the cap, so the minimum is the warm pool before the burst).
            No connection per refresh, lock or wait, whatever the load.


            """);
    }

    private static async Task<ConnectionRun> RedisConnectionsAsync(string redis)
    {
        ConfigurationOptions adminConfig = ConfigurationOptions.Parse(redis);
        adminConfig.ClientName = "bench-admin";
        adminConfig.AllowAdmin = true;
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(adminConfig);
        IDatabase adminDb = admin.GetDatabase();
        async Task<int> Sample()
        {
            string list = (string)(await adminDb.ExecuteAsync("CLIENT", "LIST"))!;
            return list.Split('\n').Count(l => l.Contains($" name={Peers.ClientName} ", StringComparison.Ordinal));
        }

        await using ConnectionMultiplexer mux = await Peers.ConnectAsync(redis);
        await using var dogpile = Peers.DogpileRedis(mux, "bench-conn-" + Guid.NewGuid().ToString("N")[..6]);
        var options = new CacheRegionOptions
        {
            Name = "connections",
            Expiration = TimeSpan.FromSeconds(1),
            StaleWindow = TimeSpan.FromMinutes(10),
            BackgroundRefresh = true,
            MaxConcurrentRefreshes = RefreshConcurrency,
            RefreshBacklog = StaleKeys,
        };
        dogpile.ApplyTo(options, useRefreshQueue: false);
        await using var region = new CacheRegion(options);
        return await RunConnectionsAsync("Redis (Dogpile multiplexer)", "2 (interactive + pub/sub)", region, Sample);
    }

    private static async Task<ConnectionRun> MemcachedConnectionsAsync(string memcached)
    {
        using System.Net.Sockets.TcpClient sampler = await Memcached.ConnectAsync(memcached);
        long baseline = await Memcached.StatAsync(sampler, "curr_connections");
        async Task<int> Sample() => (int)(await Memcached.StatAsync(sampler, "curr_connections") - baseline);
        using MemcachedCacheBackend backend = Peers.MemcachedBackend(memcached);
        using var locks = new MemcachedLockProvider(backend);
        await using var region = new CacheRegion(new CacheRegionOptions
        {
            Name = "connections",
            Backend = backend,
            LockProvider = locks,
            Expiration = TimeSpan.FromSeconds(1),
            StaleWindow = TimeSpan.FromMinutes(10),
            BackgroundRefresh = true,
            MaxConcurrentRefreshes = RefreshConcurrency,
            RefreshBacklog = StaleKeys,
        });
        return await RunConnectionsAsync("memcached (Dogpile pool)", "8 (`MaxConnectionsPerServer`)", region, Sample);
    }

    private static async Task<ConnectionRun> RunConnectionsAsync(string name, string cap, CacheRegion region, Func<Task<int>> sample)
    {
        string run = Guid.NewGuid().ToString("N")[..6];
        string[] keys = Enumerable.Range(0, StaleKeys).Select(i => $"conn-{run}-{i}").ToArray();
        for (int i = 0; i < keys.Length; i += 500)
        {
            await region.SetManyAsync(keys.Skip(i).Take(500).Select(k => KeyValuePair.Create(k, Peers.NewPayload(1))));
        }

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        long refreshed = 0;
        int min = int.MaxValue, max = 0, samples = 0;
        using var stop = new CancellationTokenSource();
        Task sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                int n = await sample();
                min = Math.Min(min, n);
                max = Math.Max(max, n);
                samples++;
                await Task.Delay(10);
            }
        });

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(keys.Select(k => Task.Run(async () => _ = await region.GetOrCreateAsync(k, async ct =>
        {
            await Task.Delay(5, ct);
            Interlocked.Increment(ref refreshed);
            return Peers.NewPayload(2);
        }))));

        // Every caller has its stale value; now wait for the refreshes behind them.
        while (watch.Elapsed < TimeSpan.FromSeconds(25))
        {
            CacheRegionStatistics stats = region.GetStatistics();
            if (Interlocked.Read(ref refreshed) >= StaleKeys || (stats.RefreshesRunning == 0 && stats.RefreshesQueued == 0 && watch.Elapsed > TimeSpan.FromSeconds(1)))
            {
                break;
            }

            await Task.Delay(20);
        }

        double seconds = watch.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await sampler;
        Console.WriteLine($"   {name}: connections {min}-{max} over {samples} samples, {refreshed} refreshes in {seconds:F1} s");
        return new ConnectionRun(name, cap, min, max, samples, Interlocked.Read(ref refreshed), seconds, region.GetStatistics());
    }
}
