namespace Dogpile.Memcached;

/// <summary>Base type of every failure the memcached client reports.</summary>
public class MemcachedException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedException() : base("A memcached operation failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public MemcachedException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MemcachedException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}

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

/// <summary>
/// A connect, a request or the wait for a free pooled connection took longer than its configured timeout.
/// A connection that timed out mid-request was discarded, since its reply stream can no longer be trusted.
/// </summary>
public sealed class MemcachedTimeoutException : MemcachedException
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedTimeoutException() : base("A memcached operation timed out.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What timed out.</param>
    public MemcachedTimeoutException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MemcachedTimeoutException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}

/// <summary>
/// The server that owns the key is marked dead after a failed connect, and the retry delay has not passed yet.
/// The call failed fast without touching the network; keys are never remapped to another server.
/// </summary>
public sealed class MemcachedServerUnavailableException : MemcachedException
{
    /// <summary>Creates the exception with a default message.</summary>
    public MemcachedServerUnavailableException() : base("The memcached server is marked dead.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Which server and until when.</param>
    public MemcachedServerUnavailableException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    /// <param name="message">Which server and until when.</param>
    /// <param name="innerException">The failure that marked the server dead.</param>
    public MemcachedServerUnavailableException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}

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
