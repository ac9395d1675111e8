using Dogpile.Internal;

namespace Dogpile;

/// <summary>Bounds of a <see cref="MemoryCacheBackend"/>: how many entries, and optionally how many bytes, it keeps.</summary>
public sealed class MemoryCacheBackendOptions : ICheckedOptions
{
    /// <summary>The most entries kept; past it the least recently used ones (approximately) are evicted.</summary>
    /// <value>Default: <see cref="MemoryCacheBackend.DefaultCapacity"/> (100,000).</value>
    public int Capacity { get; set; } = MemoryCacheBackend.DefaultCapacity;

    /// <summary>
    /// The most bytes kept, as weighed by <see cref="Weigher"/>; past it the least recently used entries (approximately)
    /// are evicted, and a single entry heavier than the whole limit is refused with a <see cref="CacheValueTooLargeException"/>.
    /// </summary>
    /// <value>Default: <see langword="null"/> (bounded by <see cref="Capacity"/> alone).</value>
    public long? SizeLimit { get; set; }

    /// <summary>
    /// The size of one entry in bytes, used with <see cref="SizeLimit"/>. Give one when you know your values' sizes
    /// (MemoryCache's <c>Size</c>, Caffeine's weigher); it receives the key and the entry (<see cref="CacheEntry.Value"/>
    /// is the live object).
    /// </summary>
    /// <value>
    /// Default: <see langword="null"/>, an estimate: the key, a fixed per-entry overhead, and the value (exact for
    /// strings, byte arrays and arrays of primitives; otherwise the length of its UTF-8 JSON, which tracks its heap size
    /// within a small factor). The estimate runs on writes only, and only when <see cref="SizeLimit"/> is set.
    /// </value>
    public Func<string, CacheEntry, long>? Weigher { get; set; }

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(MemoryCacheBackendOptions));
        check.AtLeast(Capacity, 1, nameof(Capacity));
        check.Require(SizeLimit is not < 1, nameof(SizeLimit), $"must be positive, not {SizeLimit}");
        return check;
    }
}
