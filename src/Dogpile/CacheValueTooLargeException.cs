namespace Dogpile;

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
