namespace Dogpile;

/// <summary>Stored bytes could not be turned back into a value (corrupt, truncated, or of another type or format).</summary>
public sealed class CacheSerializationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CacheSerializationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong with the bytes.</param>
    public CacheSerializationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong with the bytes.</param>
    /// <param name="innerException">The serializer's error.</param>
    public CacheSerializationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A value is larger than the backend accepts; nothing was written.</summary>
public sealed class CacheValueTooLargeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CacheValueTooLargeException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public CacheValueTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CacheValueTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a key whose encoded value exceeds a limit.</summary>
    /// <param name="key">The backend key.</param>
    /// <param name="size">The encoded size in bytes.</param>
    /// <param name="limit">The backend's limit in bytes.</param>
    public CacheValueTooLargeException(string key, long size, long limit)
        : base($"The value for key '{key}' is {size} bytes, over the backend's limit of {limit} bytes; nothing was written.")
    {
        Size = size;
        Limit = limit;
    }

    /// <summary>The encoded size in bytes.</summary>
    public long Size { get; }

    /// <summary>The backend's limit in bytes.</summary>
    public long Limit { get; }
}

/// <summary>
/// A caller waited longer than the region's lock timeout for another caller's creation of the same key.
/// No second creator was started: the creation in progress goes on for the callers still waiting.
/// </summary>
public sealed class CacheLockTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public CacheLockTimeoutException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public CacheLockTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CacheLockTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a key and the timeout that ran out.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="timeout">The lock timeout.</param>
    public CacheLockTimeoutException(string key, TimeSpan timeout)
        : base($"Timed out after {timeout} waiting for the value of key '{key}', which another caller is creating. No second creator was started.")
    {
        Key = key;
    }

    /// <summary>The cache key, when known.</summary>
    public string? Key { get; }
}
