namespace Dogpile.Memcached;

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
