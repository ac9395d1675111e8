using System.Globalization;
using System.Text;
using System.Text.Json;
using Dogpile.Memcached;
using Microsoft.Extensions.Caching.Hybrid;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace Dogpile.DistributedBenchmarks;

/// <summary>
/// Scenarios 1 and 2: N OS processes × M callers on one cold key; the creator counts itself in the server and takes
/// 200 ms. Latencies are measured from the common start time (wall clock, shared by the processes of one machine).
/// </summary>
internal static class Stampede
{
    public const int Processes = 4;
    public const int CallersPerProcess = 100;
    public const int CreatorMs = 200;

    public const int Repetitions = 3;

    public sealed record Result(string Peer, long CreatorCalls, Latencies Latency, int Errors, string FirstError)
    {
        public List<double> Raw { get; init; } = [];

        /// <summary>Each process's median latency: the callers of one process finish together (one flight per process).</summary>
        public List<double> ProcessMedians { get; init; } = [];
    }

    public static Result Merge(List<Result> runs)
    {
        var latency = new Latencies();
        latency.Add(runs.SelectMany(r => r.Raw));
        return new Result(runs[0].Peer, runs.Sum(r => r.CreatorCalls), latency, runs.Sum(r => r.Errors), runs.Select(r => r.FirstError).FirstOrDefault(e => e.Length > 0) ?? "");
    }

    public static async Task<Result> RunAsync(string peer, string server)
    {
        string key = $"stampede-{peer}-{Guid.NewGuid():N}";
        var children = Enumerable.Range(0, Processes).Select(_ => Child.Start("stampede", peer, server, key, CallersPerProcess.ToString(CultureInfo.InvariantCulture))).ToList();
        try
        {
            foreach (Child child in children)
            {
                await child.WaitForAsync("READY", TimeSpan.FromSeconds(60));
            }

            double startAt = Clock.NowUnixMs() + 500;
            foreach (Child child in children)
            {
                child.Send("GO " + startAt.ToString("R", CultureInfo.InvariantCulture));
            }

            var latency = new Latencies();
            var raw = new List<double>();
            var medians = new List<double>();
            int errors = 0;
            string firstError = "";
            foreach (Child child in children)
            {
                string line = await child.WaitForAsync("RESULT ", TimeSpan.FromSeconds(60));
                ChildResult r = JsonSerializer.Deserialize<ChildResult>(line["RESULT ".Length..])!;
                latency.Add(r.LatenciesMs);
                double[] sorted = [.. r.LatenciesMs.Order()];
                medians.Add(sorted[sorted.Length / 2]);
                raw.AddRange(r.LatenciesMs);
                errors += r.Errors.Length;
                if (firstError.Length == 0 && r.Errors.Length > 0)
                {
                    firstError = r.Errors[0];
                }
            }

            long calls = peer.EndsWith("memcached", StringComparison.Ordinal)
                ? await MemcachedCounterAsync(server, key + ":creations")
                : (long)await (await Peers.ConnectAsync(server)).GetDatabase().StringGetAsync(key + ":creations");
            return new Result(peer, calls, latency, errors, firstError) { Raw = raw, ProcessMedians = [.. medians.Order()] };
        }
        finally
        {
            foreach (Child child in children)
            {
                child.Dispose();
            }
        }
    }

    private static async Task<long> MemcachedCounterAsync(string server, string key)
    {
        using MemcachedCacheBackend backend = Peers.MemcachedBackend(server);
        var r = await backend.Client.GetAsync(key);
        return r.Found ? long.Parse(Encoding.ASCII.GetString(r.Value.Span), CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>The child: prints READY after warming up, waits for "GO t", runs its callers at t, prints RESULT json.</summary>
    public static async Task<int> ChildAsync(string peer, string server, string key, int callers)
    {
        Func<Func<CancellationToken, ValueTask<string>>, ValueTask<string>> get;
        Func<CancellationToken, ValueTask> count;
        var disposables = new List<IAsyncDisposable>();
        switch (peer)
        {
            case "dogpile-redis":
            {
                ConnectionMultiplexer mux = await Peers.ConnectAsync(server);
                IDatabase db = mux.GetDatabase();
                var redis = Peers.DogpileRedis(mux, "bench");
                var options = new CacheRegionOptions { Name = "stampede", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10), LockTimeout = TimeSpan.FromSeconds(20) };
                redis.ApplyTo(options, useRefreshQueue: false);
                var region = new CacheRegion(options);
                disposables.Add(region);
                disposables.Add(redis);
                get = creator => region.GetOrCreateAsync(key, creator);
                count = async ct => await db.StringIncrementAsync(key + ":creations");
                await WarmUpAsync(k => region.GetOrCreateAsync(k, _ => new ValueTask<string>("warm")), async k => _ = await region.GetAsync<string>(k));
                break;
            }

            case "fusion-redis":
            {
                ConnectionMultiplexer mux = await Peers.ConnectAsync(server);
                IDatabase db = mux.GetDatabase();
                IFusionCache cache = Peers.FusionCache(mux, "stampede");
                get = creator => cache.GetOrSetAsync<string>(key, async (_, ct) => await creator(ct));
                count = async ct => await db.StringIncrementAsync(key + ":creations");
                await WarmUpAsync(
                    async k => await cache.GetOrSetAsync<string>(k, (_, _) => Task.FromResult("warm")),
                    async k => _ = await cache.TryGetAsync<string>(k, o => o.SetSkipMemoryCacheRead()));
                break;
            }

            case "hybrid-redis":
            {
                ConnectionMultiplexer mux = await Peers.ConnectAsync(server);
                IDatabase db = mux.GetDatabase();
                (var services, HybridCache cache) = Peers.HybridCache(mux, "stampede:");
                disposables.Add(services);
                var fromServer = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheRead };
                get = creator => cache.GetOrCreateAsync(key, creator, static (create, ct) => create(ct));
                count = async ct => await db.StringIncrementAsync(key + ":creations");
                await WarmUpAsync(
                    k => cache.GetOrCreateAsync(k, static _ => new ValueTask<string>("warm")),
                    async k => _ = await cache.GetOrCreateAsync(k, static _ => new ValueTask<string>("warm"), fromServer));
                break;
            }

            case "dogpile-memcached":
            {
                MemcachedCacheBackend backend = Peers.MemcachedBackend(server);
                var locks = new MemcachedLockProvider(backend, new MemcachedLockOptions { Lease = TimeSpan.FromSeconds(30) });
                var region = new CacheRegion(new CacheRegionOptions { Name = "stampede", Backend = backend, LockProvider = locks, Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10), LockTimeout = TimeSpan.FromSeconds(20) });
                disposables.Add(region);
                get = creator => region.GetOrCreateAsync(key, creator);
                count = async ct => await backend.Client.IncrementAsync(key + ":creations", 1, initialValue: 1, TimeSpan.FromMinutes(5), ct);
                await backend.Client.NoopAsync();
                await WarmUpAsync(k => region.GetOrCreateAsync(k, _ => new ValueTask<string>("warm")), async k => _ = await region.GetAsync<string>(k));
                break;
            }

            default:
                throw new ArgumentException("unknown peer " + peer);
        }

        async ValueTask<string> Create(CancellationToken ct)
        {
            await count(ct);
            await Task.Delay(CreatorMs, ct);
            return "created-by-" + Environment.ProcessId;
        }

        Console.WriteLine("READY");
        string go = (await Console.In.ReadLineAsync())!;
        double startAt = double.Parse(go["GO ".Length..], CultureInfo.InvariantCulture);

        // An awaited gate, not a blocking one: parked threads would starve the pool and smear the start.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var latencies = new double[callers];
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        Task[] tasks = Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            try
            {
                _ = await get(Create);
            }
            catch (Exception ex)
            {
                errors.Add(ex.GetType().Name + ": " + ex.Message);
            }

            latencies[i] = Clock.NowUnixMs() - startAt;
        })).ToArray();
        await Clock.UntilAsync(startAt);
        gate.SetResult();
        await Task.WhenAll(tasks);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new ChildResult(latencies, [.. errors])));
        foreach (IAsyncDisposable d in disposables)
        {
            await d.DisposeAsync();
        }

        return 0;
    }

    /// <summary>
    /// Brings a child to a long-running service's steady state before the measured run, so first-call costs (JIT,
    /// serializer metadata) are not measured: a small stampede on a warm-up key (creator and joined waiters), then a
    /// read of that value from the server (deserialization).
    /// </summary>
    private static async Task WarmUpAsync(Func<string, ValueTask<string>> getOrCreate, Func<string, Task> readFromServer)
    {
        for (int round = 0; round < 3; round++)
        {
            string key = $"warm-up-{Environment.ProcessId}-{round}";
            await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () => await getOrCreate(key))));
            await readFromServer(key);
        }
    }

    public sealed record ChildResult(double[] LatenciesMs, string[] Errors);
}
