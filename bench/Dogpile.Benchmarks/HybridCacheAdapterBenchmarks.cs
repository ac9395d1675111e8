using BenchmarkDotNet.Attributes;
using Dogpile.Bench;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Benchmarks;

/// <summary>
/// A hot hit through <c>AddDogpileHybridCache()</c>'s HybridCache, against the native region hit it wraps (target: 0 B
/// and at most 1.5× the native hit) and Microsoft's HybridCache, in the same run.
/// </summary>
[MemoryDiagnoser]
public class HybridCacheAdapterBenchmarks : PeerFixture
{
    private const string Key = "product:42";
    private const string Value = "the cached value";
    private static readonly HybridCacheEntryOptions s_options = new() { Expiration = TimeSpan.FromMinutes(5) };
    private static readonly string[] s_tags = ["product"];

    private readonly HybridCache _empty = new ConstantHybridCache();
    private ServiceProvider _dogpileServices = null!;
    private HybridCache _dogpileHybrid = null!;

    [GlobalSetup]
    public void Setup()
    {
        CreatePeers();
        var services = new ServiceCollection();
        services.AddDogpileHybridCache(o =>
        {
            o.Expiration = Settings.Duration;
            o.StaleWindow = Settings.StaleWindow;
            o.BackgroundRefresh = true;
            o.RefreshFailureBackoff = Settings.FailureBackoff;
        });
        _dogpileServices = services.BuildServiceProvider();
        _dogpileHybrid = _dogpileServices.GetRequiredService<HybridCache>();
        _ = DogpileRegion();
        _ = DogpileHybridCache();
        _ = HybridCache();
        _ = EmptyHybridCacheOverride();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        DisposePeers();
        _dogpileServices.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public string DogpileRegion() => Sync(Region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value)));

    [Benchmark]
    public string DogpileHybridCache() => Sync(_dogpileHybrid.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value)));

    /// <summary>As HybridCache callers usually write it: entry options and tags on every call (they only matter on a miss).</summary>
    [Benchmark]
    public string DogpileHybridCacheWithOptionsAndTags() => Sync(_dogpileHybrid.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value), s_options, s_tags));

    [Benchmark]
    public string HybridCache() => Sync(Hybrid.Cache.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value)));

    /// <summary>
    /// The floor of any HybridCache: an override that returns a constant. GetOrCreateAsync is a generic virtual method,
    /// so every call through the abstract class pays its dispatch (a runtime lookup, not a vtable slot) before the
    /// implementation runs; this is the part of the adapter's time that no implementation can remove.
    /// </summary>
    [Benchmark]
    public string EmptyHybridCacheOverride() => Sync(_empty.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value)));

    [Benchmark]
    public string HybridCacheWithOptionsAndTags() => Sync(Hybrid.Cache.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value), s_options, s_tags));
}

/// <summary>A HybridCache that answers every GetOrCreate with the same string, to measure the dispatch alone.</summary>
internal sealed class ConstantHybridCache : HybridCache
{
    private static readonly object s_value = "the cached value";

    public override ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
        => new((T)s_value);

    public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default) => default;

    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default) => default;

    public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default) => default;
}

/// <summary>
/// What tags cost a hot hit: none (one null check), one and three tags while no tag was invalidated after the value was
/// created (one more compare), and three tags after an unrelated tag was invalidated (a lookup per tag).
/// </summary>
[MemoryDiagnoser]
public class TaggedHitBenchmarks
{
    private const string Value = "the cached value";
    private CacheRegion _region = null!;
    private CacheRegion _invalidated = null!;

    [GlobalSetup]
    public void Setup()
    {
        _region = Peers.Dogpile(new PeerSettings(), "tags");
        _invalidated = Peers.Dogpile(new PeerSettings(), "tags-invalidated");
        foreach (CacheRegion region in new[] { _region, _invalidated })
        {
            region.SetAsync("none", Value).AsTask().GetAwaiter().GetResult();
            region.SetAsync("one", Value, new CacheEntryOptions { Tags = ["product:42"] }).AsTask().GetAwaiter().GetResult();
            region.SetAsync("three", Value, new CacheEntryOptions { Tags = ["product:42", "catalog", "tenant:7"] }).AsTask().GetAwaiter().GetResult();
        }

        // Every value of this region is now older than a tag mark, so its tagged hits look each tag up.
        _invalidated.InvalidateTagAsync("unrelated").AsTask().GetAwaiter().GetResult();
        _ = NoTags();
        _ = OneTag();
        _ = ThreeTags();
        _ = ThreeTagsOlderThanATagMark();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _region.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _invalidated.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public string NoTags() => Hit(_region, "none");

    [Benchmark]
    public string OneTag() => Hit(_region, "one");

    [Benchmark]
    public string ThreeTags() => Hit(_region, "three");

    [Benchmark]
    public string ThreeTagsOlderThanATagMark() => Hit(_invalidated, "three");

    private static string Hit(CacheRegion region, string key)
    {
        ValueTask<string> hit = region.GetOrCreateAsync(key, 0, static (_, _) => new ValueTask<string>("created"));
        return hit.IsCompletedSuccessfully ? hit.Result : hit.AsTask().GetAwaiter().GetResult();
    }
}
