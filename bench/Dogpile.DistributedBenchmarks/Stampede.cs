using System.Globalization;
using System.Text;
using System.Text.Json;
using Dogpile.Memcached;
using Dogpile.Testing;
using Microsoft.Extensions.Caching.Hybrid;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace Dogpile.DistributedBenchmarks;

/// <summary>
/// Scenarios 1 and 2: N OS processes × M callers on one cold key; the creator counts itself in the server and takes
/// 200 ms. A waiter's latency is from its own call to its value; the time from the common start (wall clock, shared by
/// the processes of one machine) is kept beside it, and includes each process's own delay in starting its callers.
/// </summary>
internal static class Stampede
{
    public const int Processes = 4;
    public const int CallersPerProcess = 100;
    public const int CreatorMs = 200;

    public const int Repetitions = 3;

    /// <summary>Synchronized warm-up stampedes across the processes before the measured one (a short creator, another key).</summary>
    public const int WarmUpStampedes = 2;

    public sealed record Result(string Peer, long CreatorCalls, Latencies Latency, Latencies SinceStart, int Errors, string FirstError)
    {
        public List<double> Raw { get; init; } = [];

        public List<double> RawSinceStart { get; init; } = [];

        /// <summary>When each process's callers were done (median, ms after the common start): they finish together (one flight per process).</summary>
        public List<double> ProcessMedians { get; init; } = [];
    }

    public static Result Merge(List<Result> runs)
    {
        var latency = new Latencies();
        latency.Add(runs.SelectMany(r => r.Raw));
        var sinceStart = new Latencies();
        sinceStart.Add(runs.SelectMany(r => r.RawSinceStart));
        return new Result(runs[0].Peer, runs.Sum(r => r.CreatorCalls), latency, sinceStart, runs.Sum(r => r.Errors), runs.Select(r => r.FirstError).FirstOrDefault(e => e.Length > 0) ?? "");
    }

    public static async Task<Result> RunAsync(string peer, string server)
    {
        string key = $"stampede-{peer}-{Guid.NewGuid():N}";
        var children = Enumerable.Range(0, Processes).Select(_ => Child.Start("stampede", peer, server, key, CallersPerProcess.ToString(CultureInfo.InvariantCulture))).ToList();
        try
        {
            foreach (ChildProcess child in children)
            {
                await child.WaitForLineStartingWithAsync("READY", TimeSpan.FromSeconds(60));
            }

            // A long-running service has run its cross-process wait path (woken by a release, reading the value another
            // process wrote) many times; a fresh process has not. Warm it the way it is measured, on other keys.
            for (int warm = 0; warm < WarmUpStampedes; warm++)
            {
                double warmAt = Clock.NowUnixMs() + 300;
                foreach (ChildProcess child in children)
                {
                    child.Send("WARM " + warmAt.ToString("R", CultureInfo.InvariantCulture));
                }

                foreach (ChildProcess child in children)
                {
                    await child.WaitForLineStartingWithAsync("WARMED", TimeSpan.FromSeconds(60));
                }
            }

            double startAt = Clock.NowUnixMs() + 500;
            foreach (ChildProcess child in children)
            {
                child.Send("GO " + startAt.ToString("R", CultureInfo.InvariantCulture));
            }

            var latency = new Latencies();
            var sinceStart = new Latencies();
            var raw = new List<double>();
            var rawSinceStart = new List<double>();
            var medians = new List<double>();
            int errors = 0;
            string firstError = "";
            foreach (ChildProcess child in children)
            {
                string line = await child.WaitForLineStartingWithAsync("RESULT ", TimeSpan.FromSeconds(60));
                ChildResult r = JsonSerializer.Deserialize<ChildResult>(line["RESULT ".Length..])!;
                latency.Add(r.LatenciesMs);
                sinceStart.Add(r.DoneAtMs);
                double[] sorted = [.. r.DoneAtMs.Order()];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"     {peer}: first caller at {r.FirstCallerMs:F1} ms, creator {(r.CreatorStartMs < 0 ? "none" : $"{r.CreatorStartMs:F1}–{r.CreatorEndMs:F1} ms")}, callers done {sorted[0]:F1}–{sorted[^1]:F1} ms, waited {r.LatenciesMs.Min():F1}–{r.LatenciesMs.Max():F1} ms"));
                medians.Add(sorted[sorted.Length / 2]);
                raw.AddRange(r.LatenciesMs);
                rawSinceStart.AddRange(r.DoneAtMs);
                errors += r.Errors.Length;
                if (firstError.Length == 0 && r.Errors.Length > 0)
                {
                    firstError = r.Errors[0];
                }
            }

            long calls = peer.EndsWith("memcached", StringComparison.Ordinal)
                ? await MemcachedCounterAsync(server, key + ":creations")
                : (long)await (await Peers.ConnectAsync(server)).GetDatabase().StringGetAsync(key + ":creations");
            return new Result(peer, calls, latency, sinceStart, errors, firstError) { Raw = raw, RawSinceStart = rawSinceStart, ProcessMedians = [.. medians.Order()] };
        }
        finally
        {
            foreach (ChildProcess child in children)
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
        Func<string, Func<CancellationToken, ValueTask<string>>, ValueTask<string>> getFor;
        Func<string, CancellationToken, ValueTask> count;
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
                getFor = (k, creator) => region.GetOrCreateAsync(k, creator);
                count = async (counter, ct) => await db.StringIncrementAsync(counter);
                await WarmUpAsync(k => region.GetOrCreateAsync(k, _ => new ValueTask<string>(CreatedValue())), async k => _ = await region.GetAsync<string>(k));
                break;
            }

            case "fusion-redis":
            {
                ConnectionMultiplexer mux = await Peers.ConnectAsync(server);
                IDatabase db = mux.GetDatabase();
                IFusionCache cache = Peers.FusionCache(mux, "stampede");
                getFor = (k, creator) => cache.GetOrSetAsync<string>(k, async (_, ct) => await creator(ct));
                count = async (counter, ct) => await db.StringIncrementAsync(counter);
                await WarmUpAsync(
                    async k => await cache.GetOrSetAsync<string>(k, (_, _) => Task.FromResult(CreatedValue())),
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
                getFor = (k, creator) => cache.GetOrCreateAsync(k, creator, static (create, ct) => create(ct));
                count = async (counter, ct) => await db.StringIncrementAsync(counter);
                await WarmUpAsync(
                    k => cache.GetOrCreateAsync(k, static _ => new ValueTask<string>(CreatedValue())),
                    async k => _ = await cache.GetOrCreateAsync(k, static _ => new ValueTask<string>(CreatedValue()), fromServer));
                break;
            }

            case "dogpile-memcached":
            {
                MemcachedCacheBackend backend = Peers.MemcachedBackend(server);
                var locks = new MemcachedLockProvider(backend, new MemcachedLockOptions { Lease = TimeSpan.FromSeconds(30) });
                var region = new CacheRegion(new CacheRegionOptions { Name = "stampede", Backend = backend, LockProvider = locks, Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10), LockTimeout = TimeSpan.FromSeconds(20) });
                disposables.Add(region);
                getFor = (k, creator) => region.GetOrCreateAsync(k, creator);
                count = async (counter, ct) => await backend.Client.IncrementAsync(counter, 1, initialValue: 1, TimeSpan.FromMinutes(5), ct);
                await backend.Client.NoopAsync();
                await WarmUpAsync(k => region.GetOrCreateAsync(k, _ => new ValueTask<string>(CreatedValue())), async k => _ = await region.GetAsync<string>(k));
                break;
            }

            default:
                throw new ArgumentException("unknown peer " + peer);
        }

        double startAt = 0, creatorStartMs = -1, creatorEndMs = -1;
        // The warm-up creator does what the measured one does (count, sleep, a value of the same shape), on its own
        // counter: a first INCR, or a first string long enough for the JSON encoder's vectorized path, costs
        // milliseconds of JIT, which a running service paid long ago.
        async ValueTask<string> WarmCreate(CancellationToken ct)
        {
            await count(key + ":warm-creations", ct);
            await Task.Delay(CreatorMs / 10, ct);
            return CreatedValue();
        }

        async ValueTask<string> Create(CancellationToken ct)
        {
            creatorStartMs = Clock.NowUnixMs() - startAt;
            await count(key + ":creations", ct);
            await Task.Delay(CreatorMs, ct);
            creatorEndMs = Clock.NowUnixMs() - startAt;
            return CreatedValue();
        }

        // Whichever process wins the measured lock runs the creator: every one has counted before.
        for (int i = 0; i < 3; i++)
        {
            await count(key + ":warm-creations", CancellationToken.None);
        }

        Console.WriteLine("READY");
        string go = (await Console.In.ReadLineAsync())!;
        for (int warm = 0; go.StartsWith("WARM ", StringComparison.Ordinal); warm++)
        {
            double warmAt = double.Parse(go["WARM ".Length..], CultureInfo.InvariantCulture);
            await Clock.UntilAsync(warmAt);
            string warmKey = $"{key}:warm-{warm}";
            await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
            {
                try
                {
                    _ = await getFor(warmKey, WarmCreate);
                }
                catch (Exception ex)
                {
                    Console.Error.WriteLine("warm-up stampede: " + ex.Message);
                }
            })));
            Console.WriteLine("WARMED");
            go = (await Console.In.ReadLineAsync())!;
        }

        startAt = double.Parse(go["GO ".Length..], CultureInfo.InvariantCulture);

        // An awaited gate, not a blocking one: parked threads would starve the pool and smear the start.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var latencies = new double[callers];
        var doneAt = new double[callers];
        double firstStartedMs = -1;
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        Task[] tasks = Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            double calledAt = Clock.NowUnixMs();
            if (firstStartedMs < 0)
            {
                firstStartedMs = calledAt - startAt;
            }

            try
            {
                _ = await getFor(key, Create);
            }
            catch (Exception ex)
            {
                errors.Add(ex.GetType().Name + ": " + ex.Message);
            }

            double done = Clock.NowUnixMs();
            latencies[i] = done - calledAt;
            doneAt[i] = done - startAt;
        })).ToArray();
        await Clock.UntilAsync(startAt);
        gate.SetResult();
        await Task.WhenAll(tasks);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new ChildResult(latencies, doneAt, [.. errors], creatorStartMs, creatorEndMs, firstStartedMs)));
        foreach (IAsyncDisposable d in disposables)
        {
            await d.DisposeAsync();
        }

        return 0;
    }

    private static string CreatedValue() => "created-by-" + Environment.ProcessId;

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

    /// <summary>
    /// A child's latencies (each caller's, from its call) and when each caller was done (ms after the common start), its
    /// errors; where it ran the creator, when the creator started and ended, and when its first caller started (ms after
    /// the start; -1 for none).
    /// </summary>
    public sealed record ChildResult(double[] LatenciesMs, double[] DoneAtMs, string[] Errors, double CreatorStartMs, double CreatorEndMs, double FirstCallerMs);
}
