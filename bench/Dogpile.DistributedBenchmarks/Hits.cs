using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dogpile.Memcached;
using Microsoft.Extensions.Caching.Hybrid;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace Dogpile.DistributedBenchmarks;

/// <summary>
/// Scenario 4: L2 hit throughput. Every task reads its own key (so no peer can coalesce concurrent reads of one key
/// into one round trip), for a fixed time, and every read is a real server read.
/// </summary>
internal static partial class Sections
{
    private const int HitTasks = 16;
    private static readonly TimeSpan HitDuration = TimeSpan.FromSeconds(7);
    private static readonly TimeSpan HitWarmUp = TimeSpan.FromMilliseconds(500);

    // Warm-up goes on, in HitWarmUp steps, until a step compiles no method: with tiered compilation a reader's code (and
    // System.Text.Json's for the value) is rejitted for seconds after its first calls, and a profile of the Dogpile
    // reader after a fixed 2 s warm-up still spent 4 % of its samples in the JIT. Readers with more code to tier up
    // would otherwise pay for it in the measured rounds.
    private const int MaxWarmUpSteps = 40;

    // Short slices, many rounds: a reader's slice is paired with the raw reader's in the same round, under 2 s apart,
    // and the median of 21 per-round ratios moved far less between runs (86-91 %) than that of 7 one-second rounds
    // (62-91 %) on this shared 2-vCPU machine.
    private const int HitRounds = 21;

    private sealed record Throughput(string Peer, double OpsPerSecond, Latencies Latency, double ServerGetsPerOp, string Note)
    {
        public double MinRound { get; init; }

        public double MaxRound { get; init; }

        /// <summary>The median over rounds of this reader's rate divided by the first reader's rate in the same round.</summary>
        public double PairedRatio { get; init; }

        /// <summary>This process's CPU time (all threads) per operation, in microseconds.</summary>
        public double ClientCpuMicrosPerOp { get; init; }
    }

    private sealed record Reader(string Peer, string Note, Func<Task<long>> ServerGets, Func<int, ValueTask> Op);

    /// <summary>
    /// Runs the readers in interleaved rounds (each round: every reader for duration / rounds), so that the drift of a
    /// shared machine spreads over all of them instead of landing on one. Each round starts one reader later in the list,
    /// so every reader follows every other equally often, and each reader's slice starts from a collected heap, so no
    /// reader pays for the garbage of the one before it. Reports each reader's median round, and its
    /// ratio to the first reader as the median of per-round ratios (each round's readers run seconds apart, so the
    /// pairing cancels most of the drift between rounds). <c>ServerGets</c> reads the server's own read counter, to
    /// prove every read reaches the server; the client's CPU per operation is the least noisy cost on a shared machine.
    /// </summary>
    private static async Task<List<Throughput>> MeasureAsync(List<Reader> readers)
    {
        var warmUps = new List<string>();
        foreach (Reader r in readers)
        {
            int steps = 0;
            long compiled;
            do
            {
                compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                await RunLoopAsync(HitWarmUp, r.Op, null);
                steps++;
            }
            while (System.Runtime.JitInfo.GetCompiledMethodCount() != compiled && steps < MaxWarmUpSteps);

            warmUps.Add(string.Create(CultureInfo.InvariantCulture, $"{r.Peer} {steps * HitWarmUp.TotalSeconds:F1} s"));
        }

        Console.WriteLine($"   warm-up until no method compiles in a step: {string.Join(", ", warmUps)}");

        var rates = readers.Select(_ => new List<double>()).ToList();
        var latencies = readers.Select(_ => new Latencies()).ToList();
        long[] ops = new long[readers.Count], gets = new long[readers.Count];
        var cpu = new TimeSpan[readers.Count];
        long[] workItems = new long[readers.Count], allocated = new long[readers.Count];
        using var self = Process.GetCurrentProcess();
        TimeSpan slice = HitDuration / HitRounds;
        for (int round = 0; round < HitRounds; round++)
        {
            for (int turn = 0; turn < readers.Count; turn++)
            {
                int i = (round + turn) % readers.Count;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long before = await readers[i].ServerGets();
                self.Refresh();
                TimeSpan cpuBefore = self.TotalProcessorTime;
                long itemsBefore = ThreadPool.CompletedWorkItemCount, bytesBefore = GC.GetTotalAllocatedBytes(precise: false);
                long n = await RunLoopAsync(slice, readers[i].Op, latencies[i]);
                self.Refresh();
                cpu[i] += self.TotalProcessorTime - cpuBefore;
                workItems[i] += ThreadPool.CompletedWorkItemCount - itemsBefore;
                allocated[i] += GC.GetTotalAllocatedBytes(precise: false) - bytesBefore;
                gets[i] += await readers[i].ServerGets() - before;
                ops[i] += n;
                rates[i].Add(n / slice.TotalSeconds);
            }
        }

        var results = new List<Throughput>();
        for (int i = 0; i < readers.Count; i++)
        {
            double median = Median(rates[i]);
            double paired = Median(rates[i].Select((rate, round) => rate / rates[0][round]));
            double cpuPerOp = cpu[i].TotalMicroseconds / ops[i];
            Console.WriteLine($"   {readers[i].Peer}: {median:N0} ops/s (rounds: {string.Join(", ", rates[i].Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}), paired {paired:P0}, {cpuPerOp:F1} µs client CPU/op, {(double)workItems[i] / ops[i]:F2} pool items/op, {(double)allocated[i] / ops[i]:F0} B/op, {(double)gets[i] / ops[i]:F2} server reads/op");
            results.Add(new Throughput(readers[i].Peer, median, latencies[i], (double)gets[i] / ops[i], readers[i].Note)
            {
                MinRound = rates[i].Min(),
                MaxRound = rates[i].Max(),
                PairedRatio = paired,
                ClientCpuMicrosPerOp = cpuPerOp,
            });
        }

        return results;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<long> RedisReadsAsync(IServer server)
    {
        // GET for the raw and Dogpile readers, HGETALL/HMGET for the IDistributedCache (RedisCache) readers.
        long total = 0;
        foreach (IGrouping<string, KeyValuePair<string, string>> group in await server.InfoAsync("commandstats"))
        {
            foreach (KeyValuePair<string, string> kv in group)
            {
                if (kv.Key is "cmdstat_get" or "cmdstat_hgetall" or "cmdstat_hmget" or "cmdstat_evalsha" or "cmdstat_eval")
                {
                    string calls = kv.Value.Split(',')[0];
                    total += long.Parse(calls["calls=".Length..], CultureInfo.InvariantCulture);
                }
            }
        }

        return total;
    }

    private static async Task<long> RunLoopAsync(TimeSpan duration, Func<int, ValueTask> op, Latencies? latency)
    {
        long total = 0;
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, HitTasks).Select(task => Task.Run(async () =>
        {
            long n = 0;
            while (stop.Elapsed < duration)
            {
                long t0 = Stopwatch.GetTimestamp();
                await op(task);
                latency?.RecordMs(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                n++;
            }

            Interlocked.Add(ref total, n);
        })));
        return total;
    }

    public static async Task<string> HitsAsync(string redis, string memcached)
    {
        ConnectionMultiplexer mux = await Peers.ConnectAsync(redis);
        IDatabase db = mux.GetDatabase();
        string run = Guid.NewGuid().ToString("N")[..8];
        string[] keys = Enumerable.Range(0, HitTasks).Select(i => $"hit-{run}-{i}").ToArray();
        var readers = new List<Reader>();
        IServer server = mux.GetServer(mux.GetEndPoints()[0]);
        Func<Task<long>> reads = () => RedisReadsAsync(server);
        Func<Task<long>> mcReads = () => Memcached.StatAsync(memcached, "cmd_get");

        // Raw: GET of a key holding the same System.Text.Json bytes, no deserialization.
        foreach (string k in keys)
        {
            await db.StringSetAsync("raw:" + k, JsonSerializer.SerializeToUtf8Bytes(Peers.NewPayload(1)));
        }

        readers.Add(new Reader("raw `IDatabase.StringGetAsync`", "bytes only, no deserialization", reads, async t => _ = await db.StringGetAsync("raw:" + keys[t])));

        await using var dogpileRedis = Peers.DogpileRedis(mux, "bench-hits");
        {
            // The near cache off: this section measures Redis reads (the near-cache hit is scenario "near").
            var options = new CacheRegionOptions { Name = "hits", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10), NearCache = new NearCacheOptions { Enabled = false } };
            dogpileRedis.ApplyTo(options, useRefreshQueue: false);
            var region = new CacheRegion(options);
            foreach (string k in keys)
            {
                await region.SetAsync(k, Peers.NewPayload(1));
            }

            readers.Add(new Reader("Dogpile `GetAsync`", "envelope + STJ deserialization", reads, async t => _ = await region.GetAsync<Payload>(keys[t])));
            readers.Add(new Reader("Dogpile `GetOrCreateAsync`", "static creator (never runs)", reads, async t => _ = await region.GetOrCreateAsync(keys[t], t, static (id, _) => new ValueTask<Payload>(Peers.NewPayload(id)))));
        }

        IFusionCache fusion = Peers.FusionCache(mux, "hits", withLocker: false);
        var skipL1 = new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(1), SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
        foreach (string k in keys)
        {
            await fusion.SetAsync(k, Peers.NewPayload(1), skipL1);
        }

        readers.Add(new Reader("FusionCache `GetOrSetAsync`", "`SkipMemoryCacheRead` + `SkipMemoryCacheWrite`: L2 every call", reads, async t => _ = await fusion.GetOrSetAsync<Payload>(keys[t], (_, _) => Task.FromResult(Peers.NewPayload(1)), skipL1)));
        // Not disposed: FusionCache disposes the components it was given, the shared multiplexer among them.

        (var services, HybridCache hybrid) = Peers.HybridCache(mux, "bench-hybrid:");
        var hybridL2 = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(1), Flags = HybridCacheEntryFlags.DisableLocalCache };
        foreach (string k in keys)
        {
            await hybrid.SetAsync(k, Peers.NewPayload(1), hybridL2);
        }

        readers.Add(new Reader("HybridCache `GetOrCreateAsync`", "`DisableLocalCache`: L2 every call", reads, async t => _ = await hybrid.GetOrCreateAsync(keys[t], t, static (id, _) => new ValueTask<Payload>(Peers.NewPayload(id)), hybridL2)));
        _ = services; // Not disposed: RedisCache disposes the shared multiplexer with it.
        List<Throughput> results = await MeasureAsync(readers);

        // memcached: the Dogpile backend vs the same internal client's raw meta-get over the same pool.
        List<Throughput> mcResults;
        using (MemcachedCacheBackend backend = Peers.MemcachedBackend(memcached))
        {
            var mcReaders = new List<Reader>();
            await using var region = new CacheRegion(new CacheRegionOptions { Name = "hits", Backend = backend, Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10) });
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(Peers.NewPayload(1));
            foreach (string k in keys)
            {
                await backend.Client.SetAsync("raw:" + k, bytes, 0, TimeSpan.FromMinutes(5));
                await region.SetAsync(k, Peers.NewPayload(1));
            }

            mcReaders.Add(new Reader("raw `mg` (internal `MemcachedClient.GetAsync`)", "bytes only, pipelined over the same 8-connection pool", mcReads, async t => _ = await backend.Client.GetAsync("raw:" + keys[t])));
            mcReaders.Add(new Reader("Dogpile `GetAsync`", "envelope + STJ deserialization", mcReads, async t => _ = await region.GetAsync<Payload>(keys[t])));
            mcReaders.Add(new Reader("Dogpile `GetOrCreateAsync`", "static creator (never runs)", mcReads, async t => _ = await region.GetOrCreateAsync(keys[t], t, static (id, _) => new ValueTask<Payload>(Peers.NewPayload(id)))));
            mcResults = await MeasureAsync(mcReaders);
        }

        await dogpileRedis.DisposeAsync();
        await mux.DisposeAsync();
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"""
            ## 4. L2 hits

            {HitTasks} concurrent tasks, each reading its own fresh key, {HitDuration.TotalSeconds:F0} s per reader in {HitRounds} interleaved rounds
            (every reader runs once per round, so the drift of this shared machine spreads over all of them; each round starts
            one reader later, so every reader follows every other equally often, and each reader's turn starts after a full
            garbage collection, so none pays for the garbage of the one before; ops/s is the
            median round, latencies all rounds; each reader warmed up in {HitWarmUp.TotalMilliseconds:F0} ms steps until a step compiles no method, so tiered compilation has settled, at most {MaxWarmUpSteps * HitWarmUp.TotalSeconds:F0} s). "vs raw" is the median of
            per-round ratios to the raw reader of the same round. "client CPU" is this process's CPU time (all threads) per
            read, the steadiest cost on a shared machine; the server's CPU is not in it. Each task reads its own key
            (so no peer can fold concurrent reads of one key into one round trip). The value is a small record
            (`Payload(int, string, long[8])`, ~80 bytes of JSON). Every read goes to the server: Dogpile's near cache is
            off (`NearCache.Enabled = false`; its hits are in the near-cache section), FusionCache and HybridCache are told
            to skip their memory cache. One multiplexer for all Redis peers.

            * Dogpile: {Peers.DogpileRedisConfig}.
            * FusionCache: {Peers.FusionConfig} (no locker: it only matters on a miss); entry options `SkipMemoryCacheRead`, `SkipMemoryCacheWrite`.
            * HybridCache: {Peers.HybridConfig}; entry flags `DisableLocalCache`.

            ### Redis

            {ThroughputTable(results)}
            ### memcached

            * Dogpile: {Peers.MemcachedConfig} (no lock needed for hits).

            {ThroughputTable(mcResults)}
            """);
        double redisRatio = results[1].PairedRatio;
        double redisGoc = results[2].PairedRatio;
        double mcRatio = mcResults[1].PairedRatio;
        double mcGoc = mcResults[2].PairedRatio;
        Throughput bestPeer = results.Skip(3).MaxBy(r => r.OpsPerSecond)!;
        Targets.Add(30, "Redis-backed hit ≥ 80% of raw StringGetAsync", string.Create(CultureInfo.InvariantCulture, $"GetAsync {redisRatio:P0}, GetOrCreateAsync {redisGoc:P0}"), Math.Min(redisRatio, redisGoc) >= 0.8);
        Targets.Add(31, "memcached-backed hit ≥ 80% of a raw pipelined mg loop", string.Create(CultureInfo.InvariantCulture, $"GetAsync {mcRatio:P0}, GetOrCreateAsync {mcGoc:P0}"), Math.Min(mcRatio, mcGoc) >= 0.8);
        s.Append(CultureInfo.InvariantCulture, $"""

            **Target** (Dogpile ≥ 80% of raw): Redis `GetAsync` {redisRatio:P0}, `GetOrCreateAsync` {redisGoc:P0} — **{(Math.Min(redisRatio, redisGoc) >= 0.8 ? "met" : "not met")}**;
            memcached `GetAsync` {mcRatio:P0}, `GetOrCreateAsync` {mcGoc:P0} — **{(Math.Min(mcRatio, mcGoc) >= 0.8 ? "met" : "not met")}**.
            Against the best L2-only peer ({bestPeer.Peer}, {Fmt.N(bestPeer.OpsPerSecond)} ops/s) Dogpile's `GetOrCreateAsync` is at
            {results[2].OpsPerSecond / bestPeer.OpsPerSecond:P0}{(results[2].OpsPerSecond < bestPeer.OpsPerSecond ? " — **Dogpile loses here**" : "")}. On 2 shared cores the client's CPU (deserialization,
            envelope checks) competes with redis-server/memcached itself, so these ratios understate what a
            dedicated client machine would show, in both directions. The rounds column shows how far one reader's own rounds
            swing on this machine: where that spread is wider than the gap to the 80 % line, the verdict is within noise (earlier
            runs of this same code on this machine put Dogpile's Redis ratio anywhere from about 70 % to above 100 %).


            """);
        return s.ToString();
    }

    private static string ThroughputTable(List<Throughput> results)
    {
        var s = new StringBuilder("| Reader | ops/s (median round) | rounds min–max | vs raw | client CPU µs/op | server reads per op | p50 ms | p99 ms | p99.9 ms | max ms | Note |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        foreach (Throughput r in results)
        {
            s.Append(CultureInfo.InvariantCulture, $"| {r.Peer} | {Fmt.N(r.OpsPerSecond)} | {Fmt.N(r.MinRound)}–{Fmt.N(r.MaxRound)} | {Fmt.Ratio(r.PairedRatio)} | {r.ClientCpuMicrosPerOp:F1} | {r.ServerGetsPerOp:F2} | {Fmt.Ms(r.Latency.P(50))} | {Fmt.Ms(r.Latency.P(99))} | {Fmt.Ms(r.Latency.P(99.9))} | {Fmt.Ms(r.Latency.Max)} | {r.Note} |\n");
        }

        return s.ToString();
    }
}
