using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Dogpile.Internal;

namespace Dogpile.Benchmarks;

/// <summary>
/// The pieces of Dogpile's hit path measured alone, to see where its time goes relative to a raw dictionary:
/// the memory backend's hit read (dictionary + CLOCK access flag), its general read (+ drop-time check + ValueTask), the key
/// check, the per-thread hit counter, and the whole GetOrCreateAsync.
/// </summary>
[MemoryDiagnoser]
public class HitPathBreakdownBenchmarks
{
    private const string Key = "product:42";
    private const string Value = "the cached value";

    private readonly ConcurrentDictionary<string, object> _dictionary = new(StringComparer.Ordinal);
    private readonly StripedCounter _counter = new();
    private MemoryCacheBackend _backend = null!;
    private CacheRegion _region = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dictionary[Key] = Value;
        _backend = new MemoryCacheBackend();
        _region = new CacheRegion(new CacheRegionOptions { Name = "breakdown", Backend = _backend, BackgroundRefresh = true });
        _ = Region();
        _ = Region();
    }

    [GlobalCleanup]
    public void Cleanup() => _region.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public object? ConcurrentDictionaryTryGetValue() => _dictionary.TryGetValue(Key, out object? v) ? v : null;

    /// <summary>What the region's hit path reads: the dictionary lookup plus the CLOCK access flag.</summary>
    [Benchmark]
    public CacheEntry? MemoryBackendPeekForHit() => _backend.PeekForHit(Key);

    [Benchmark]
    public CacheEntry? MemoryBackendGetAsync()
    {
        ValueTask<CacheEntry?> read = _backend.GetAsync(Key, default);
        return read.Result;
    }

    [Benchmark]
    public string RegionToBackendKey() => _region.ToBackendKey(Key);

    [Benchmark]
    public void StripedCounterIncrement() => _counter.Increment();

    [Benchmark]
    public string Region()
    {
        ValueTask<string> hit = _region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value));
        return hit.Result;
    }
}
