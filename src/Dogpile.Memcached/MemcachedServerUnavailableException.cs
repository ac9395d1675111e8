namespace Dogpile.Memcached;

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
