using BenchmarkDotNet.Attributes;

namespace Dogpile.Benchmarks;

/// <summary>
/// Hits over 10,000 keys drawn from a Zipf distribution (s = 0.99, precomputed, fixed seed), on 1 and 2 threads.
/// One invocation runs <see cref="TotalOps"/> lookups split over the threads, so the reported time is the
/// aggregate time per lookup: with 2 threads on 2 free cores, perfect scaling halves it.
/// </summary>
[MemoryDiagnoser]
public class ZipfThroughputBenchmarks : PeerFixture
{
    public const int TotalOps = 1 << 20;
    private const int KeyCount = 10_000;
    private const double Skew = 0.99;
    private const int SequenceLength = 1 << 16;

    private string[] _keys = null!;
    private string[] _sequence = null!;

    /// <summary>1 and 2 threads here; <c>DOGPILE_BENCH_THREADS</c> (e.g. "1,2,4,8,16") sets others, for the 16-core scaling run.</summary>
    public static IEnumerable<int> ThreadCounts
        => (Environment.GetEnvironmentVariable("DOGPILE_BENCH_THREADS") ?? "1,2").Split(',').Select(t => int.Parse(t, System.Globalization.CultureInfo.InvariantCulture));

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        CreatePeers();
        _keys = new string[KeyCount];
        for (int i = 0; i < KeyCount; i++)
        {
            _keys[i] = "key:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        _sequence = ZipfSequence(_keys, SequenceLength, Skew, seed: 42);
        foreach (string key in _keys)
        {
            Dictionary[key] = key;
            _ = Sync(Region.GetOrCreateAsync(key, key, static (k, _) => new ValueTask<string>(k)));
            _ = Sync(Fusion.GetOrSetAsync<string>(key, (_, _) => Task.FromResult(key), default, null, null, default));
            _ = Sync(Hybrid.Cache.GetOrCreateAsync(key, key, static (k, _) => new ValueTask<string>(k)));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => DisposePeers();

    [Benchmark(Baseline = true, OperationsPerInvoke = TotalOps)]
    public long ConcurrentDictionary() => Run(new DictionaryOp(Dictionary));

    [Benchmark(OperationsPerInvoke = TotalOps)]
    public long Dogpile() => Run(new DogpileOp(Region));

    [Benchmark(OperationsPerInvoke = TotalOps)]
    public long FusionCache() => Run(new FusionOp(Fusion));

    [Benchmark(OperationsPerInvoke = TotalOps)]
    public long HybridCache() => Run(new HybridOp(Hybrid.Cache));

    // Struct operations: the generic loop is specialized per library, so no delegate call is measured.
    private interface IOp
    {
        int Get(string key);
    }

    private readonly struct DictionaryOp(System.Collections.Concurrent.ConcurrentDictionary<string, object> d) : IOp
    {
        public int Get(string key) => d.TryGetValue(key, out object? v) ? ((string)v).Length : 0;
    }

    private readonly struct DogpileOp(CacheRegion r) : IOp
    {
        public int Get(string key) => Sync(r.GetOrCreateAsync(key, key, static (k, _) => new ValueTask<string>(k))).Length;
    }

    private readonly struct FusionOp(ZiggyCreatures.Caching.Fusion.FusionCache f) : IOp
    {
        public int Get(string key) => Sync(f.GetOrSetAsync<string>(key, static (_, _) => Task.FromResult("x"), default, null, null, default)).Length;
    }

    private readonly struct HybridOp(Microsoft.Extensions.Caching.Hybrid.HybridCache h) : IOp
    {
        public int Get(string key) => Sync(h.GetOrCreateAsync(key, key, static (k, _) => new ValueTask<string>(k))).Length;
    }

    private long Run<TOp>(TOp op)
        where TOp : struct, IOp
    {
        if (Threads == 1)
        {
            return Slice(op, 0, TotalOps);
        }

        long total = 0;
        int perThread = TotalOps / Threads;
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t => Interlocked.Add(ref total, Slice(op, t * (SequenceLength / Threads), perThread)));
        return total;
    }

    private long Slice<TOp>(TOp op, int start, int count)
        where TOp : struct, IOp
    {
        string[] sequence = _sequence;
        int mask = sequence.Length - 1;
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            sum += op.Get(sequence[(start + i) & mask]);
        }

        return sum;
    }

    /// <summary>Draws keys by inverse CDF over the Zipf weights 1/rank^s: rank 1 is the hottest key.</summary>
    internal static string[] ZipfSequence(string[] keys, int length, double s, int seed)
    {
        var cdf = new double[keys.Length];
        double sum = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, s);
            cdf[i] = sum;
        }

        var random = new Random(seed);
        var sequence = new string[length];
        for (int i = 0; i < length; i++)
        {
            int index = Array.BinarySearch(cdf, random.NextDouble() * sum);
            sequence[i] = keys[index < 0 ? Math.Min(~index, keys.Length - 1) : index];
        }

        return sequence;
    }
}
