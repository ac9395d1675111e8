using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Microsoft.Extensions.Caching.Hybrid;

namespace Dogpile.Hybrid;

/// <summary>
/// <see cref="HybridCache"/> on a Dogpile region: code written against HybridCache gets Dogpile's semantics (one creator
/// per key across processes with a lock provider, stale-while-revalidate, stale-if-error). See docs/hybridcache.md for
/// where the semantics differ from Microsoft's implementation, and what each flag does here.
/// </summary>
/// <remarks>
/// HybridCache's two levels map onto the region's one backend. A region whose backend holds live objects (the memory
/// backend) has only a local level: the <c>LocalCache</c> flags and <see cref="HybridCacheEntryOptions.LocalCacheExpiration"/>
/// apply to it, the <c>DistributedCache</c> flags have nothing to act on. A region with a remote backend (Redis,
/// memcached) has a distributed level: the <c>DistributedCache</c> flags apply to it; its near cache, if any, is
/// configured per region, so the <c>LocalCache</c> flags and <c>LocalCacheExpiration</c> have no effect.
/// </remarks>
internal sealed class DogpileHybridCache(CacheRegion region) : HybridCache
{
    private static readonly Func<object?, bool> s_storeNothing = static _ => false;

    private readonly bool _localOnly = region.Backend.StoresObjects;

    // The flags that turn off reading and writing the region's one level (local or distributed, see the remarks).
    private readonly HybridCacheEntryFlags _readOff = region.Backend.StoresObjects ? HybridCacheEntryFlags.DisableLocalCacheRead : HybridCacheEntryFlags.DisableDistributedCacheRead;
    private readonly HybridCacheEntryFlags _writeOff = region.Backend.StoresObjects ? HybridCacheEntryFlags.DisableLocalCacheWrite : HybridCacheEntryFlags.DisableDistributedCacheWrite;

    internal CacheRegion Region => region;

    public override ValueTask<T> GetOrCreateAsync<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> factory,
        HybridCacheEntryOptions? options = null,
        IEnumerable<string>? tags = null,
        CancellationToken cancellationToken = default)
    {
        // The hot hit: options and tags only shape what is written, so a fresh value is served before looking at them
        // (unless a flag turns the read off). Synchronous, no allocation.
        if ((options?.Flags is not { } flags || (flags & _readOff) == 0) && region.TryGetHit(key, out T hit))
        {
            return new ValueTask<T>(hit);
        }

        return GetOrCreateSlow(key, state, factory, options, tags, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<T> GetOrCreateSlow<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> factory,
        HybridCacheEntryOptions? options,
        IEnumerable<string>? tags,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        HybridCacheEntryFlags? flags = options?.Flags;
        if (flags is { } f && (f & HybridCacheEntryFlags.DisableUnderlyingData) != 0)
        {
            return ReadOnlyAsync<T>(key, cancellationToken);
        }

        CacheEntryOptions? entryOptions = ToEntryOptions(options, tags, WritesCache(flags));
        if (!ReadsCache(flags))
        {
            return CreateWithoutReadingAsync(key, state, factory, entryOptions, WritesCache(flags), cancellationToken);
        }

        return region.GetOrCreateAsync(key, state, factory, entryOptions, cancellationToken);
    }

    public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        CacheEntryOptions? entryOptions = ToEntryOptions(options, tags, writes: true);
        if (!WritesCache(options?.Flags))
        {
            // Nothing to write to; the key and tags are still checked, as a write would.
            _ = region.ToBackendKey(key);
            return ValueTask.CompletedTask;
        }

        return region.SetAsync(key, value, entryOptions, cancellationToken);
    }

    public override async ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default)
        => _ = await region.RemoveAsync(key, cancellationToken).ConfigureAwait(false);

    public override ValueTask RemoveAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        string[] all = [.. keys];
        return all.Length == 0 ? ValueTask.CompletedTask : region.RemoveManyAsync(all, cancellationToken);
    }

    public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (tag == TagRules.Wildcard)
        {
            // "*": everything this cache holds, which for Dogpile is the region's hard invalidation.
            return region.InvalidateAsync(InvalidationMode.Hard, cancellationToken);
        }

        // A tag no entry may carry (blank, too long) matches nothing: there is nothing to invalidate.
        return TagRules.IsValid(tag) ? region.InvalidateTagAsync(tag, InvalidationMode.Hard, cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary><see cref="HybridCacheEntryFlags.DisableUnderlyingData"/>: what the cache holds (stale included), else default.</summary>
    private async ValueTask<T> ReadOnlyAsync<T>(string key, CancellationToken cancellationToken)
        => await region.GetItemAsync<T>(key, cancellationToken).ConfigureAwait(false) is { } item ? item.Value : default!;

    /// <summary>Reading turned off: the factory runs for this caller (no lock: there is no cached value to share), then its value is stored.</summary>
    private async ValueTask<T> CreateWithoutReadingAsync<TState, T>(
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> factory,
        CacheEntryOptions? entryOptions,
        bool writes,
        CancellationToken cancellationToken)
    {
        _ = region.ToBackendKey(key);
        T value = await factory(state, cancellationToken).ConfigureAwait(false);
        if (writes)
        {
            await region.SetAsync(key, value, entryOptions, cancellationToken).ConfigureAwait(false);
        }

        return value;
    }

    private bool ReadsCache(HybridCacheEntryFlags? flags) => flags is not { } f || (f & _readOff) == 0;

    private bool WritesCache(HybridCacheEntryFlags? flags) => flags is not { } f || (f & _writeOff) == 0;

    /// <summary>HybridCache's per-call options as the region's: the expiration that applies to the level written, and the tags.</summary>
    private CacheEntryOptions? ToEntryOptions(HybridCacheEntryOptions? options, IEnumerable<string>? tags, bool writes)
    {
        TimeSpan? expiration = options?.Expiration;
        if (_localOnly && options?.LocalCacheExpiration is { } local && (expiration is null || local < expiration))
        {
            // The only level is the local one, and its entries live for LocalCacheExpiration (as Microsoft's L1 does).
            expiration = local;
        }

        string[]? tagArray = TagRules.Normalize(tags, nameof(tags));
        if (expiration is null && tagArray is null && writes)
        {
            return null;
        }

        return new CacheEntryOptions
        {
            Expiration = expiration,
            Tags = tagArray,
            ShouldCache = writes ? null : s_storeNothing,
        };
    }
}
