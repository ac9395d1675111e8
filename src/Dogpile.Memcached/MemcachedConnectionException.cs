namespace Dogpile.Memcached;

/// <summary>
/// The connection failed: it could not be opened, the server closed it mid-reply, or a socket error occurred.
/// The connection was discarded; a later call opens a new one.
/// </summary>
public sealed class MemcachedConnectionException : MemcachedException
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedConnectionException() : base("The connection to the memcached server failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public MemcachedConnectionException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MemcachedConnectionException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
