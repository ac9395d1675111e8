namespace Dogpile.Memcached.Client;

/// <summary>The outcome of a get.</summary>
/// <param name="Found">Whether the key exists.</param>
/// <param name="Value">The stored bytes; empty on a miss.</param>
/// <param name="Flags">The 32-bit client flags stored with the value.</param>
/// <param name="Cas">The item's CAS token, for a later compare-and-set or compare-and-delete.</param>
/// <param name="RemainingTtl">Time left before expiry; null when the item never expires or on a miss.</param>
internal readonly record struct MemcachedGetResult(bool Found, ReadOnlyMemory<byte> Value, uint Flags, ulong Cas, TimeSpan? RemainingTtl)
{
    public static MemcachedGetResult Miss => default;
}

/// <summary>How <c>ms</c> treats an existing or missing item.</summary>
internal enum MemcachedStoreMode
{
    /// <summary>Store unconditionally.</summary>
    Set,

    /// <summary>Store only if the key does not exist (memcached "add").</summary>
    Add,

    /// <summary>Store only if the key exists.</summary>
    Replace,

    /// <summary>Append the bytes to an existing value (flags and TTL are kept).</summary>
    Append,

    /// <summary>Prepend the bytes to an existing value (flags and TTL are kept).</summary>
    Prepend,
}

/// <summary>The answer to a store.</summary>
internal enum MemcachedStoreStatus
{
    /// <summary><c>HD</c>: stored.</summary>
    Stored,

    /// <summary><c>NS</c>: the mode's condition failed (add on an existing key, replace/append on a missing one).</summary>
    NotStored,

    /// <summary><c>EX</c>: the key exists but its CAS differs from the one compared.</summary>
    Exists,

    /// <summary><c>NF</c>: a CAS compare was asked for and the key does not exist.</summary>
    NotFound,
}

/// <summary>The outcome of a store.</summary>
/// <param name="Status">What the server did.</param>
/// <param name="Cas">The new CAS of the stored item when <see cref="Status"/> is Stored; 0 otherwise.</param>
internal readonly record struct MemcachedStoreResult(MemcachedStoreStatus Status, ulong Cas)
{
    public bool Stored => Status == MemcachedStoreStatus.Stored;
}

/// <summary>The answer to a delete.</summary>
internal enum MemcachedDeleteStatus
{
    /// <summary><c>HD</c>: deleted.</summary>
    Deleted,

    /// <summary><c>NF</c>: there was no such key.</summary>
    NotFound,

    /// <summary><c>EX</c>: the key exists but its CAS differs from the one compared; nothing was deleted.</summary>
    Exists,
}
