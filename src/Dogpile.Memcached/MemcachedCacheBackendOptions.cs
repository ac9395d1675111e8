namespace Dogpile.Memcached;

/// <summary>Settings of <see cref="MemcachedCacheBackend"/> beyond the client's.</summary>
public sealed class MemcachedCacheBackendOptions
{
    /// <summary>
    /// Prepended to every key this backend reads or writes, after the region's own <see cref="CacheRegionOptions.KeyPrefix"/>
    /// and mangling, for example to keep two applications apart on one memcached. It counts against the 250-byte limit,
    /// so <see cref="MemcachedCacheBackend.MaxKeyLength"/> shrinks by its length.
    /// </summary>
    /// <value>Default: <see langword="null"/> (no prefix). At most 64 characters of printable ASCII other than space.</value>
    public string? KeyPrefix { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (!string.IsNullOrEmpty(KeyPrefix) && (KeyPrefix.Length > 64 || !MemcachedKeys.IsSafe(KeyPrefix, 64)))
        {
            throw new ArgumentException(
                $"{nameof(MemcachedCacheBackendOptions)}.{nameof(KeyPrefix)} must be at most 64 characters of printable ASCII other than space.",
                nameof(KeyPrefix));
        }
    }
}
