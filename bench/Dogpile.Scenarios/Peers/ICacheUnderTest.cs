using Dogpile.Bench;
using Microsoft.Extensions.Caching.Hybrid;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Dogpile.Scenarios.Peers;

/// <summary>
/// The operations scenarios need, over any library. Distributed peers (Dogpile + Redis, FusionCache + Redis L2
/// and backplane, HybridCache + Redis) will be more implementations built by a distributed peer factory.
/// </summary>
public interface ICacheUnderTest : IAsyncDisposable
{
    string Name { get; }

    bool IsDogpile { get; }

    ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> creator, CancellationToken cancellationToken = default);

    ValueTask SetAsync<T>(string key, T value);
}

/// <summary>A named way to build a peer with given settings, and the sentence that describes its configuration.</summary>
public sealed record PeerFactory(string Name, Func<PeerSettings, ICacheUnderTest> Create, Func<PeerSettings, string> Describe);

public static class InProcessPeers
{
    public static PeerFactory Dogpile { get; } = new("Dogpile", s => new DogpilePeer("Dogpile", Bench.Peers.Dogpile(s)), Bench.Peers.DescribeDogpile);

    public static PeerFactory FusionCache { get; } = new("FusionCache", s => new FusionPeer(CreateFusion(s)), s => Bench.Peers.DescribeFusion(s) + ", System.Text.Json serializer set up (unused without L2)");

    public static PeerFactory HybridCache { get; } = new("HybridCache", s => new HybridPeer(Bench.Peers.Hybrid(s)), Bench.Peers.DescribeHybrid);

    /// <summary>Dogpile and its two peers, in report order.</summary>
    public static IReadOnlyList<PeerFactory> All { get; } = [Dogpile, FusionCache, HybridCache];

    private static FusionCache CreateFusion(PeerSettings s)
    {
        FusionCache cache = Bench.Peers.Fusion(s);
        cache.SetupSerializer(new FusionCacheSystemTextJsonSerializer());
        return cache;
    }
}

public sealed class DogpilePeer(string name, CacheRegion region) : ICacheUnderTest
{
    public string Name { get; } = name;

    public bool IsDogpile => true;

    public CacheRegion Region { get; } = region;

    public ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> creator, CancellationToken cancellationToken = default)
        => Region.GetOrCreateAsync(key, state, creator, null, cancellationToken);

    public ValueTask SetAsync<T>(string key, T value) => Region.SetAsync(key, value);

    public ValueTask DisposeAsync() => Region.DisposeAsync();
}

public sealed class FusionPeer(FusionCache cache) : ICacheUnderTest
{
    public string Name => "FusionCache";

    public bool IsDogpile => false;

    public FusionCache Cache { get; } = cache;

    // FusionCache has no state overload: the closure is what its users write too.
    public ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> creator, CancellationToken cancellationToken = default)
        => Cache.GetOrSetAsync<T>(key, (_, ct) => creator(state, ct).AsTask(), default, null, null, cancellationToken);

    public ValueTask SetAsync<T>(string key, T value)
    {
        Cache.Set(key, value);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Cache.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class HybridPeer(HybridHandle handle) : ICacheUnderTest
{
    public string Name => "HybridCache";

    public bool IsDogpile => false;

    public HybridCache Cache => handle.Cache;

    public ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> creator, CancellationToken cancellationToken = default)
        => Cache.GetOrCreateAsync(key, state, creator, null, null, cancellationToken);

    public ValueTask SetAsync<T>(string key, T value) => Cache.SetAsync(key, value);

    public ValueTask DisposeAsync()
    {
        handle.Dispose();
        return ValueTask.CompletedTask;
    }
}
