using System.Runtime.CompilerServices;

namespace Dogpile;

// What adapters (the HybridCache implementation) need of the region beyond its public surface.
public sealed partial class CacheRegion
{
    /// <summary>
    /// The inlined memory hit on its own: a fresh value of the embedded memory backend under a plain key, synchronous and
    /// allocation-free. False says nothing (not cached, or not this fast path); the caller goes on to the general path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGetHit<T>(string key, out T value) => TryGetMemoryHit(key, out value);
}
