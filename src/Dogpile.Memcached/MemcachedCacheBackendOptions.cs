using Dogpile.Internal;

namespace Dogpile.Memcached;

/// <summary>Settings of the memcached backend (<see cref="DogpileMemcached.Backend"/>) beyond the client's.</summary>
public sealed class MemcachedCacheBackendOptions : ICheckedOptions
{
    /// <summary>
    /// Prepended to every key this backend reads or writes, after the region's own <see cref="CacheRegionOptions.KeyPrefix"/>
    /// and mangling, for example to keep two applications apart on one memcached. It counts against the 250-byte limit,
    /// so the longest key the backend takes (250 bytes) shrinks by its length.
    /// </summary>
    /// <value>Default: <see langword="null"/> (no prefix). At most 64 characters of printable ASCII other than space.</value>
    public string? KeyPrefix { get; set; }

    /// <summary>
    /// What regions on this backend do when memcached is unavailable, unless the region sets
    /// <see cref="CacheRegionOptions.BackendFailurePolicy"/>: <see cref="CacheBackendFailurePolicy.Degrade"/> serves
    /// around it (at most one creator per key per process during an outage), <see cref="CacheBackendFailurePolicy.Throw"/>
    /// passes <see cref="CacheBackendUnavailableException"/> on.
    /// </summary>
    /// <value>Default: <see langword="null"/> (<see cref="CacheBackendFailurePolicy.Degrade"/>).</value>
    public CacheBackendFailurePolicy? FailurePolicy { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the invalid option.</summary>
    internal void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(MemcachedCacheBackendOptions));
        check.Require(
            string.IsNullOrEmpty(KeyPrefix) || (KeyPrefix.Length <= 64 && MemcachedKeys.IsSafe(KeyPrefix, 64)),
            nameof(KeyPrefix),
            "must be at most 64 characters of printable ASCII other than space");
        return check;
    }
}
