using BenchmarkDotNet.Attributes;
using Dogpile.Bench;

namespace Dogpile.Benchmarks;

/// <summary>Get-or-create of a fresh value that is already cached: the path every cache lives on.</summary>
[MemoryDiagnoser]
public class HotHitStringBenchmarks : PeerFixture
{
    private const string Key = "product:42";
    private const string Value = "the cached value";

    [GlobalSetup]
    public void Setup()
    {
        CreatePeers();
        Dictionary[Key] = Value;
        _ = Dogpile();
        _ = FusionCache();
        _ = HybridCache();
    }

    [GlobalCleanup]
    public void Cleanup() => DisposePeers();

    [Benchmark(Baseline = true)]
    public string ConcurrentDictionary() => Dictionary.TryGetValue(Key, out object? v) ? (string)v : "";

    [Benchmark]
    public string Dogpile() => Sync(Region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value)));

    [Benchmark]
    public string FusionCache() => Sync(Fusion.GetOrSetAsync<string>(Key, static (_, _) => Task.FromResult(Value), default, null, null, default));

    [Benchmark]
    public string HybridCache() => Sync(Hybrid.Cache.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value)));
}

/// <summary>Same as <see cref="HotHitStringBenchmarks"/> with a POCO; HybridCache once immutable, once mutable (it copies those).</summary>
[MemoryDiagnoser]
public class HotHitPocoBenchmarks : PeerFixture
{
    private const string Key = "product:42";
    private const string MutableKey = "product:42:mutable";
    private static readonly ImmutablePoco s_value = new(42, "forty-two", 4.2, 638_000_000_000_000_000);

    [GlobalSetup]
    public void Setup()
    {
        CreatePeers();
        Dictionary[Key] = s_value;
        _ = Dogpile();
        _ = FusionCache();
        _ = HybridCacheImmutable();
        _ = HybridCacheMutable();
    }

    [GlobalCleanup]
    public void Cleanup() => DisposePeers();

    [Benchmark(Baseline = true)]
    public ImmutablePoco ConcurrentDictionary() => Dictionary.TryGetValue(Key, out object? v) ? (ImmutablePoco)v : s_value;

    [Benchmark]
    public ImmutablePoco Dogpile() => Sync(Region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<ImmutablePoco>(s_value)));

    [Benchmark]
    public ImmutablePoco FusionCache() => Sync(Fusion.GetOrSetAsync<ImmutablePoco>(Key, static (_, _) => Task.FromResult(s_value), default, null, null, default));

    [Benchmark]
    public ImmutablePoco HybridCacheImmutable() => Sync(Hybrid.Cache.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<ImmutablePoco>(s_value)));

    [Benchmark]
    public MutablePoco HybridCacheMutable() => Sync(Hybrid.Cache.GetOrCreateAsync(
        MutableKey,
        0,
        static (_, _) => new ValueTask<MutablePoco>(new MutablePoco { Id = 42, Name = "forty-two", Score = 4.2, UpdatedTicks = 638_000_000_000_000_000 })));
}
