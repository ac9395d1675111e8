using System.ComponentModel;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Dogpile.Bench;

/// <summary>An immutable POCO: HybridCache hands out the cached instance, as Dogpile and FusionCache always do.</summary>
[ImmutableObject(true)]
public sealed record ImmutablePoco(int Id, string Name, double Score, long UpdatedTicks);

/// <summary>A mutable POCO: HybridCache keeps it serialized and deserializes a copy on every hit.</summary>
public sealed class MutablePoco
{
    public int Id { get; set; }

    public string Name { get; set; } = "";

    public double Score { get; set; }

    public long UpdatedTicks { get; set; }
}

/// <summary>The knobs every peer gets the same value for. Defaults fit the micro benchmarks.</summary>
public sealed record PeerSettings
{
    /// <summary>Fresh lifetime: Dogpile Expiration, FusionCache Duration, HybridCache Expiration and LocalCacheExpiration.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an expired value may still be served: Dogpile StaleWindow, FusionCache FailSafeMaxDuration.</summary>
    public TimeSpan StaleWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Pause after a failed refresh: Dogpile RefreshFailureBackoff, FusionCache FailSafeThrottleDuration.</summary>
    public TimeSpan FailureBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>FusionCache FactorySoftTimeout (stale value returned if the factory is slower).</summary>
    public TimeSpan FactorySoftTimeout { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>FusionCache EagerRefreshThreshold.</summary>
    public float EagerRefreshThreshold { get; init; } = 0.9f;

    /// <summary>Dogpile MaxConcurrentRefreshes: the library's default unless a scenario says otherwise.</summary>
    public int DogpileMaxConcurrentRefreshes { get; init; } = new CacheRegionOptions().MaxConcurrentRefreshes;

    /// <summary>Dogpile memory backend capacity in entries.</summary>
    public int DogpileCapacity { get; init; } = MemoryCacheBackend.DefaultCapacity;
}

/// <summary>Builds each library the same way everywhere, so the docs can describe one configuration per peer.</summary>
public static class Peers
{
    public static CacheRegion Dogpile(PeerSettings s, string name = "bench")
        => new(new CacheRegionOptions
        {
            Name = name,
            Expiration = s.Duration,
            StaleWindow = s.StaleWindow,
            BackgroundRefresh = true,
            RefreshFailureBackoff = s.FailureBackoff,
            RefreshFailureMaxBackoff = s.FailureBackoff > TimeSpan.FromMinutes(2) ? s.FailureBackoff : TimeSpan.FromMinutes(2),
            MaxConcurrentRefreshes = s.DogpileMaxConcurrentRefreshes,
            Backend = new MemoryCacheBackend(s.DogpileCapacity),
        });

    public static FusionCache Fusion(PeerSettings s)
        => new(new FusionCacheOptions
        {
            DefaultEntryOptions = new FusionCacheEntryOptions
            {
                Duration = s.Duration,
                IsFailSafeEnabled = true,
                FailSafeMaxDuration = s.StaleWindow,
                FailSafeThrottleDuration = s.FailureBackoff,
                EagerRefreshThreshold = s.EagerRefreshThreshold,
                FactorySoftTimeout = s.FactorySoftTimeout,
            },
        });

    /// <summary>HybridCache with its defaults except the expirations (no L2 registered: L1 only).</summary>
    public static HybridHandle Hybrid(PeerSettings s)
    {
        var services = new ServiceCollection();
        services.AddHybridCache(o => o.DefaultEntryOptions = new HybridCacheEntryOptions
        {
            Expiration = s.Duration,
            LocalCacheExpiration = s.Duration,
        });
        ServiceProvider provider = services.BuildServiceProvider();
        return new HybridHandle(provider, provider.GetRequiredService<HybridCache>());
    }

    public static string DescribeDogpile(PeerSettings s)
        => $"`CacheRegion`: Expiration={Fmt(s.Duration)}, BackgroundRefresh=true, StaleWindow={Fmt(s.StaleWindow)} (MaxStaleness = StaleWindow), "
         + $"RefreshFailureBackoff={Fmt(s.FailureBackoff)}, MaxConcurrentRefreshes={s.DogpileMaxConcurrentRefreshes}, MemoryCacheBackend capacity {s.DogpileCapacity:N0}, TimeProvider.System";

    public static string DescribeFusion(PeerSettings s)
        => $"`new FusionCache(...)` (own MemoryCache, no L2): Duration={Fmt(s.Duration)}, IsFailSafeEnabled=true, FailSafeMaxDuration={Fmt(s.StaleWindow)}, "
         + $"FailSafeThrottleDuration={Fmt(s.FailureBackoff)}, EagerRefreshThreshold={s.EagerRefreshThreshold}, FactorySoftTimeout={Fmt(s.FactorySoftTimeout)}";

    public static string DescribeHybrid(PeerSettings s)
        => $"`AddHybridCache()` defaults (no IDistributedCache: L1 only, System.Text.Json for POCOs), Expiration=LocalCacheExpiration={Fmt(s.Duration)}";

    public static string Fmt(TimeSpan t)
        => t.TotalHours >= 1 && t.TotalHours == Math.Floor(t.TotalHours) ? $"{t.TotalHours:0}h"
         : t.TotalMinutes >= 1 && t.TotalMinutes == Math.Floor(t.TotalMinutes) ? $"{t.TotalMinutes:0}min"
         : t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.###}s"
         : $"{t.TotalMilliseconds:0.###}ms";
}

public sealed class HybridHandle(ServiceProvider provider, HybridCache cache) : IDisposable
{
    public HybridCache Cache { get; } = cache;

    public void Dispose() => provider.Dispose();
}
