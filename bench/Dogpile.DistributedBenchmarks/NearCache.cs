using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dogpile.Redis;
using Dogpile.Testing;
using Microsoft.Extensions.Caching.Hybrid;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace Dogpile.DistributedBenchmarks;

/// <summary>
/// Scenario "near": the cost of a fresh hit of a Redis-backed region with its near cache, next to the memory-backend
/// hit and to the peers' hits with their memory level in front of Redis (HybridCache's L1 with a Redis L2, FusionCache's
/// L1 with a Redis L2 and backplane); then coherence latency: a set in this process until a second OS process serves
/// the new value, for Dogpile's change feed and FusionCache's backplane.
/// </summary>
internal static partial class Sections
{
    private const int NearHitOps = 1_000_000;
    private const int NearHitRounds = 9;
    private const int CoherenceWarmUp = 30;
    private const int CoherenceSets = 300;

    private sealed record HitCost(string Peer, string Note, double NanosPerOp, double BytesPerOp, double MinNanos, double MaxNanos);

    public static async Task<string> NearAsync(string redis)
    {
        ConnectionMultiplexer mux = await Peers.ConnectAsync(redis);
        IServer server = mux.GetServer(mux.GetEndPoints()[0]);
        string run = Guid.NewGuid().ToString("N")[..8];
        string key = "near-" + run;
        Func<int, CancellationToken, ValueTask<Payload>> create = static (id, _) => new(Peers.NewPayload(id));

        await using var memory = new CacheRegion(new CacheRegionOptions { Name = "memory", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10) });
        await using DogpileRedis dogpileRedis = Peers.DogpileRedis(mux, "bench-near-" + run);
        var options = new CacheRegionOptions { Name = "near", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10) };
        dogpileRedis.ApplyTo(options, useRefreshQueue: false);
        await using var near = new CacheRegion(options);
        IFusionCache fusion = Peers.FusionCache(mux, "near-" + run, withLocker: false);
        (var services, HybridCache hybrid) = Peers.HybridCache(mux, "bench-near-hybrid-" + run + ":");
        _ = services; // Not disposed: RedisCache disposes the shared multiplexer with it.

        // Created once through each (the near cache and the L1s take the value as it is written to Redis).
        await memory.GetOrCreateAsync(key, 1, create);
        await near.GetOrCreateAsync(key, 1, create);
        await fusion.GetOrSetAsync<Payload>(key, static (_, _) => Task.FromResult(Peers.NewPayload(1)), default, null, null, default);
        await hybrid.GetOrCreateAsync(key, 1, create);

        var readers = new (string Peer, string Note, Func<Payload> Hit)[]
        {
            ("Dogpile, memory backend", "the embedded default: the baseline", () => Sync(memory.GetOrCreateAsync(key, 1, create))),
            ("Dogpile, Redis backend + near cache", "`AddRedis` defaults (near cache on, change feed)", () => Sync(near.GetOrCreateAsync(key, 1, create))),
            ("HybridCache, Redis L2", "L1 hit (`LocalCacheExpiration` 1 min)", () => Sync(hybrid.GetOrCreateAsync(key, 1, create))),
            ("FusionCache, Redis L2 + backplane", "L1 hit", () => Sync(fusion.GetOrSetAsync<Payload>(key, static (_, _) => Task.FromResult(Peers.NewPayload(1)), default, null, null, default))),
        };

        long readsBefore = await RedisReadsAsync(server);
        List<HitCost> costs = MeasureHits(readers);
        long redisReads = await RedisReadsAsync(server) - readsBefore;

        // Coherence: a set here, until another OS process serves the new value.
        Latencies dogpileCoherence = await CoherenceAsync(redis, "dogpile", run, async stamp => await near.SetAsync("coh-" + run, stamp));
        Latencies fusionCoherence = await CoherenceAsync(redis, "fusion", run, async stamp => await fusion.SetAsync("coh-" + run, stamp));

        await dogpileRedis.DisposeAsync();
        double memoryNs = costs[0].NanosPerOp, nearNs = costs[1].NanosPerOp, hybridNs = costs[2].NanosPerOp, fusionNs = costs[3].NanosPerOp;
        double nearBytes = costs[1].BytesPerOp;
        bool hitMet = nearNs <= 2 * memoryNs && nearBytes < 0.5 && nearNs <= 0.5 * hybridNs && nearNs <= 0.5 * fusionNs;
        bool coherenceMet = dogpileCoherence.P(99) <= 5;
        Targets.Add(32, "Redis-backed fresh hit, near cache on: ≤ 2× the memory hit, 0 B, ≤ 0.5× HybridCache (Redis L2) and FusionCache (backplane)", string.Create(
            CultureInfo.InvariantCulture,
            $"{nearNs:F0} ns = {nearNs / memoryNs:F2}× memory ({memoryNs:F0} ns), {nearBytes:F0} B, {nearNs / hybridNs:F2}× HybridCache ({hybridNs:F0} ns), {nearNs / fusionNs:F2}× FusionCache ({fusionNs:F0} ns)"), hitMet);
        Targets.Add(33, "Coherence latency (set in process A → process B serves it) p99 ≤ 5 ms", string.Create(
            CultureInfo.InvariantCulture,
            $"Dogpile p99 {Fmt.Ms(dogpileCoherence.P(99))} ms (p50 {Fmt.Ms(dogpileCoherence.P(50))}); FusionCache backplane p99 {Fmt.Ms(fusionCoherence.P(99))} ms (p50 {Fmt.Ms(fusionCoherence.P(50))})"), coherenceMet);

        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"""
            ## 7. Near cache: the Redis-backed hit, and coherence across processes

            **Hit cost.** One thread, one fresh key, {Fmt.N(NearHitOps)} `GetOrCreateAsync` hits per reader per round, {NearHitRounds} interleaved
            rounds (each round starts one reader later; a full collection before each turn); ns/op is the median round, B/op
            from `GC.GetAllocatedBytesForCurrentThread`. Every peer has its memory level in front of the same Redis: Dogpile's
            near cache (on by default with `DogpileRedis.ApplyTo`/`AddRedis`), HybridCache's L1, FusionCache's L1 (with its
            backplane). The value is the small record of the L2-hit section. Redis reads during all the hit rounds: {redisReads}.

            * Dogpile: {Peers.DogpileRedisConfig}.
            * FusionCache: {Peers.FusionConfig} (no locker).
            * HybridCache: {Peers.HybridConfig}.

            | Reader | ns/op (median round) | rounds min–max | vs memory hit | B/op | Note |
            | --- | ---: | ---: | ---: | ---: | --- |

            """);
        foreach (HitCost c in costs)
        {
            s.Append(CultureInfo.InvariantCulture, $"| {c.Peer} | {c.NanosPerOp:F1} | {c.MinNanos:F1}–{c.MaxNanos:F1} | {Fmt.Ratio(c.NanosPerOp / memoryNs)} | {c.BytesPerOp:F0} | {c.Note} |\n");
        }

        s.Append(CultureInfo.InvariantCulture, $"""

            **Target** (≤ 2× the memory hit, 0 B, ≤ 0.5× each peer): {nearNs / memoryNs:F2}× memory, {nearBytes:F0} B, {nearNs / hybridNs:F2}× HybridCache,
            {nearNs / fusionNs:F2}× FusionCache — **{(hitMet ? "met" : "not met")}**.

            **Coherence latency.** This process sets a key {CoherenceSets} times ({CoherenceWarmUp} more first, not counted), 2–6 ms apart, each
            time waiting until a second OS process, reading the key in a loop from its memory level, serves the new value; the
            latency is from just before the set call to the read that returned the new value (`Stopwatch` timestamps, one
            monotonic clock for both processes). Dogpile: the write's change notice evicts the key in the reader's near cache
            and its next read goes to Redis. FusionCache: its backplane message does the same for its L1.

            | Writer → reader | p50 ms | p90 ms | p99 ms | max ms |
            | --- | ---: | ---: | ---: | ---: |
            | Dogpile (change feed) | {Fmt.Ms(dogpileCoherence.P(50))} | {Fmt.Ms(dogpileCoherence.P(90))} | {Fmt.Ms(dogpileCoherence.P(99))} | {Fmt.Ms(dogpileCoherence.Max)} |
            | FusionCache (backplane) | {Fmt.Ms(fusionCoherence.P(50))} | {Fmt.Ms(fusionCoherence.P(90))} | {Fmt.Ms(fusionCoherence.P(99))} | {Fmt.Ms(fusionCoherence.Max)} |

            **Target** (Dogpile p99 ≤ 5 ms): {Fmt.Ms(dogpileCoherence.P(99))} ms — **{(coherenceMet ? "met" : "not met")}**.


            """);
        return s.ToString();
    }

    private static T Sync<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private static List<HitCost> MeasureHits((string Peer, string Note, Func<Payload> Hit)[] readers)
    {
        // Warm-up until tiered compilation settles (as the L2-hit section does).
        foreach ((string _, string _, Func<Payload> hit) in readers)
        {
            for (int step = 0; step < 20; step++)
            {
                long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                Loop(hit, 200_000);
                if (System.Runtime.JitInfo.GetCompiledMethodCount() == compiled)
                {
                    break;
                }

                Thread.Sleep(100);
            }
        }

        var nanos = readers.Select(_ => new List<double>()).ToList();
        var bytes = readers.Select(_ => new List<double>()).ToList();
        for (int round = 0; round < NearHitRounds; round++)
        {
            for (int turn = 0; turn < readers.Length; turn++)
            {
                int i = (round + turn) % readers.Length;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                long started = Stopwatch.GetTimestamp();
                Loop(readers[i].Hit, NearHitOps);
                nanos[i].Add(Stopwatch.GetElapsedTime(started).TotalNanoseconds / NearHitOps);
                bytes[i].Add((double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / NearHitOps);
            }
        }

        var costs = new List<HitCost>();
        for (int i = 0; i < readers.Length; i++)
        {
            Console.WriteLine($"   {readers[i].Peer}: {Median(nanos[i]):F1} ns/op (rounds {string.Join(", ", nanos[i].Select(n => n.ToString("F1", CultureInfo.InvariantCulture)))}), {Median(bytes[i]):F1} B/op");
            costs.Add(new HitCost(readers[i].Peer, readers[i].Note, Median(nanos[i]), Median(bytes[i]), nanos[i].Min(), nanos[i].Max()));
        }

        return costs;
    }

    private static void Loop(Func<Payload> hit, int count)
    {
        int sink = 0;
        for (int n = 0; n < count; n++)
        {
            sink += hit().Id;
        }

        if (sink != count)
        {
            throw new InvalidOperationException($"a hit returned another value ({sink} of {count})");
        }
    }

    /// <summary>Sets a key here and waits for the child reader of <paramref name="peer"/> to serve each new value.</summary>
    private static async Task<Latencies> CoherenceAsync(string redis, string peer, string run, Func<long, Task> set)
    {
        using ChildProcess reader = Child.Start("near-reader", redis, peer, run);
        await reader.WaitForLineStartingWithAsync("READY", TimeSpan.FromSeconds(60));
        var latencies = new Latencies();
        for (int i = 0; i < CoherenceWarmUp + CoherenceSets; i++)
        {
            long stamp = Stopwatch.GetTimestamp();
            await set(stamp);
            string seen = await reader.WaitForLineStartingWithAsync("SEEN " + stamp.ToString(CultureInfo.InvariantCulture) + " ", TimeSpan.FromSeconds(10));
            if (i >= CoherenceWarmUp)
            {
                latencies.RecordMs(double.Parse(seen[(seen.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture) / 1000);
            }

            await Task.Delay(2 + Random.Shared.Next(5));
        }

        reader.Send("quit");
        Console.WriteLine($"   coherence {peer}: p50 {Fmt.Ms(latencies.P(50))} ms, p99 {Fmt.Ms(latencies.P(99))} ms, max {Fmt.Ms(latencies.Max)} ms");
        return latencies;
    }

    /// <summary>
    /// The child of the coherence measurement: reads the key in a loop on a thread of its own, from its memory level
    /// (Dogpile's near cache, FusionCache's L1), and prints <c>SEEN {value} {µs since the value's stamp}</c> for each new value.
    /// </summary>
    public static async Task<int> NearReaderAsync(string redis, string peer, string run)
    {
        ConnectionMultiplexer mux = await Peers.ConnectAsync(redis);
        string key = "coh-" + run;
        Func<long> read;
        DogpileRedis? dogpileRedis = null;
        if (peer == "dogpile")
        {
            dogpileRedis = Peers.DogpileRedis(mux, "bench-near-" + run);
            var options = new CacheRegionOptions { Name = "near", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10) };
            dogpileRedis.ApplyTo(options, useRefreshQueue: false);
            var region = new CacheRegion(options);
            read = () => Sync(region.GetOrCreateAsync(key, 0L, static (_, _) => new ValueTask<long>(0L)));
        }
        else
        {
            IFusionCache fusion = Peers.FusionCache(mux, "near-" + run, withLocker: false);
            read = () => fusion.GetOrDefault<long>(key, 0L);
        }

        long last = read();
        bool stop = false;
        var thread = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                long value = read();
                if (value != last && value != 0)
                {
                    double micros = Stopwatch.GetElapsedTime(value).TotalMicroseconds;
                    last = value;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SEEN {value} {micros:F1}"));
                }

                Thread.Yield();
            }
        }) { IsBackground = true };
        thread.Start();
        Console.WriteLine("READY");
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
        }

        Volatile.Write(ref stop, true);
        thread.Join();
        if (dogpileRedis is not null)
        {
            await dogpileRedis.DisposeAsync();
        }

        return 0;
    }
}
