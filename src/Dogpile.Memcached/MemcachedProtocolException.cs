namespace Dogpile.Memcached;

/// <summary>The server sent bytes that are not a valid meta-protocol reply; the connection was discarded.</summary>
public sealed class MemcachedProtocolException : MemcachedException
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedProtocolException() : base("The memcached server sent an invalid reply.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was wrong with the reply.</param>
    public MemcachedProtocolException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">What was wrong with the reply.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MemcachedProtocolException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
