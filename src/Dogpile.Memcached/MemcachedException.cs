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
