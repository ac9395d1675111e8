using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lru;
using Dogpile.Internal;

namespace Dogpile.Benchmarks;

/// <summary>
/// The pieces of Dogpile's hit path measured alone, to see where its time goes relative to a raw dictionary:
/// the BitFaster LRU lookup (with and without its hit/miss telemetry), the memory backend's read (LRU + slot + drop-time check + ValueTask), the key
/// check, the striped hit counter, and the whole GetOrCreateAsync.
/// </summary>
[MemoryDiagnoser]
public class HitPathBreakdownBenchmarks
{
    private const string Key = "product:42";
    private const string Value = "the cached value";

    private readonly ConcurrentDictionary<string, object> _dictionary = new(StringComparer.Ordinal);
    private readonly ConcurrentLru<string, object> _lru = new(Math.Min(Environment.ProcessorCount, 64), MemoryCacheBackend.DefaultCapacity, StringComparer.Ordinal);
    private readonly FastConcurrentLru<string, object> _fastLru = new(Math.Min(Environment.ProcessorCount, 64), MemoryCacheBackend.DefaultCapacity, StringComparer.Ordinal);
    private readonly StripedCounter _counter = new();
    private MemoryCacheBackend _backend = null!;
    private CacheRegion _region = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dictionary[Key] = Value;
        _lru.AddOrUpdate(Key, Value);
        _fastLru.AddOrUpdate(Key, Value);
        _backend = new MemoryCacheBackend();
        _region = new CacheRegion(new CacheRegionOptions { Name = "breakdown", Backend = _backend, BackgroundRefresh = true });
        _ = Region();
    }

    [GlobalCleanup]
    public void Cleanup() => _region.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public object? ConcurrentDictionaryTryGetValue() => _dictionary.TryGetValue(Key, out object? v) ? v : null;

    [Benchmark]
    public object? BitFasterConcurrentLruTryGet() => _lru.TryGet(Key, out object? v) ? v : null;

    /// <summary>The same LRU without hit/miss telemetry (what the backend would cost without BitFaster's counters).</summary>
    [Benchmark]
    public object? BitFasterFastConcurrentLruTryGet() => _fastLru.TryGet(Key, out object? v) ? v : null;

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
