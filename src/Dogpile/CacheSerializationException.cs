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
