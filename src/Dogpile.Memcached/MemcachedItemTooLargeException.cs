namespace Dogpile.Memcached;

/// <summary>A value is larger than <see cref="MemcachedClientOptions.MaxItemSize"/>; nothing was sent.</summary>
public sealed class MemcachedItemTooLargeException : MemcachedException
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedItemTooLargeException() : base("The value is larger than the configured maximum item size.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The sizes involved.</param>
    public MemcachedItemTooLargeException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">The sizes involved.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MemcachedItemTooLargeException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
