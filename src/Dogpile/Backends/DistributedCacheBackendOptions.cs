using Dogpile.Internal;

namespace Dogpile;

/// <summary>Settings of a <see cref="DistributedCacheBackend"/>.</summary>
public sealed class DistributedCacheBackendOptions : ICheckedOptions
{
    /// <summary>
    /// The largest encoded entry (the value's serialized bytes plus a 26-byte header) the backend writes; a larger one
    /// throws <see cref="CacheValueTooLargeException"/> and nothing is written.
    /// </summary>
    /// <value>Default: 8 MiB. Lower it to what your store takes comfortably (SQL Server and SQLite rows, Cosmos DB's 2 MB items).</value>
    public int MaxValueBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// The longest key, in UTF-8 bytes, passed to the store as it is; a longer one is replaced by <c>sha256:</c> and its
    /// hash (71 characters), so a region works with any key.
    /// </summary>
    /// <value>Default: 449, the length of the <c>Id</c> column of the SQL Server distributed cache's table.</value>
    public int MaxKeyLength { get; set; } = 449;

    /// <summary>
    /// How many reads, writes or removals of one multi-key call (<c>GetOrCreateManyAsync</c>, <c>SetManyAsync</c>, ...)
    /// are in flight at once. <see cref="Microsoft.Extensions.Caching.Distributed.IDistributedCache"/> has no batch
    /// operations, so a multi-key call is that many single-key calls.
    /// </summary>
    /// <value>Default: 8.</value>
    public int MaxConcurrentCalls { get; set; } = 8;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(DistributedCacheBackendOptions));
        check.AtLeast(MaxValueBytes, 1, nameof(MaxValueBytes));
        check.AtLeast(MaxKeyLength, 71, nameof(MaxKeyLength));
        check.AtLeast(MaxConcurrentCalls, 1, nameof(MaxConcurrentCalls));
        return check;
    }
}
