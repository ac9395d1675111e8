using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dogpile.Bench;
using ZiggyCreatures.Caching.Fusion;

namespace Dogpile.Benchmarks;

/// <summary>One instance of every library, built the way the docs describe (see <see cref="Peers"/>).</summary>
public abstract class PeerFixture
{
    protected static readonly PeerSettings Settings = new();

    protected ConcurrentDictionary<string, object> Dictionary { get; private set; } = null!;

    protected CacheRegion Region { get; private set; } = null!;

    protected FusionCache Fusion { get; private set; } = null!;

    protected HybridHandle Hybrid { get; private set; } = null!;

    protected void CreatePeers()
    {
        Dictionary = new ConcurrentDictionary<string, object>(StringComparer.Ordinal);
        Region = Peers.Dogpile(Settings);
        Fusion = Peers.Fusion(Settings);
        Hybrid = Peers.Hybrid(Settings);
    }

    protected void DisposePeers()
    {
        Region.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Fusion.Dispose();
        Hybrid.Dispose();
    }

    /// <summary>Every library's hit returns a completed ValueTask; read it the same cheap way for all.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static T Sync<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
}
