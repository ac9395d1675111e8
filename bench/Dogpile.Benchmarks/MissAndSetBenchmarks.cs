using BenchmarkDotNet.Attributes;

namespace Dogpile.Benchmarks;

/// <summary>
/// Remove, then get-or-create with a trivial synchronous creator: the cost of a miss (lookup, lock/flight
/// bookkeeping, creator call, store) plus a remove, for every library alike.
/// </summary>
[MemoryDiagnoser]
public class MissBenchmarks : PeerFixture
{
    private const string Key = "product:miss";
    private const string Value = "the created value";

    [GlobalSetup]
    public void Setup() => CreatePeers();

    [GlobalCleanup]
    public void Cleanup() => DisposePeers();

    [Benchmark(Baseline = true)]
    public string ConcurrentDictionary()
    {
        Dictionary.TryRemove(Key, out _);
        return (string)Dictionary.GetOrAdd(Key, static _ => Value);
    }

    [Benchmark]
    public async ValueTask<string> Dogpile()
    {
        await Region.RemoveAsync(Key);
        return await Region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value));
    }

    [Benchmark]
    public async ValueTask<string> FusionCache()
    {
        await Fusion.RemoveAsync(Key);
        return await Fusion.GetOrSetAsync<string>(Key, static (_, _) => Task.FromResult(Value), default, null, null, default);
    }

    [Benchmark]
    public async ValueTask<string> HybridCache()
    {
        await Hybrid.Cache.RemoveAsync(Key);
        return await Hybrid.Cache.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value));
    }
}

/// <summary>Overwrite one key with a value (the expiration comes from each library's defaults, as configured).</summary>
[MemoryDiagnoser]
public class SetBenchmarks : PeerFixture
{
    private const string Key = "product:set";
    private const string Value = "the stored value";

    [GlobalSetup]
    public void Setup() => CreatePeers();

    [GlobalCleanup]
    public void Cleanup() => DisposePeers();

    [Benchmark(Baseline = true)]
    public void ConcurrentDictionary() => Dictionary[Key] = Value;

    [Benchmark]
    public ValueTask Dogpile() => Region.SetAsync(Key, Value);

    [Benchmark]
    public ValueTask FusionCache() => Fusion.SetAsync(Key, Value);

    [Benchmark]
    public ValueTask HybridCache() => Hybrid.Cache.SetAsync(Key, Value);
}
