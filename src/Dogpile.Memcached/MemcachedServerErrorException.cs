namespace Dogpile.Memcached;

/// <summary>
/// The server answered <c>ERROR</c>, <c>CLIENT_ERROR</c> or <c>SERVER_ERROR</c> (for example "object too large for
/// cache" or "out of memory"); the connection was discarded.
/// </summary>
public sealed class MemcachedServerErrorException : MemcachedException
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedServerErrorException() : base("The memcached server reported an error.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The error line the server sent.</param>
    public MemcachedServerErrorException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">The error line the server sent.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MemcachedServerErrorException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
