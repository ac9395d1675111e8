namespace Dogpile;

/// <summary>
/// A caller waited longer than the region's lock timeout for another caller's creation of the same key.
/// No second creator was started: the creation in progress goes on for the callers still waiting.
/// </summary>
public sealed class CacheLockTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public CacheLockTimeoutException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public CacheLockTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CacheLockTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a key and the timeout that ran out.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="timeout">The lock timeout.</param>
    public CacheLockTimeoutException(string key, TimeSpan timeout)
        : base($"Timed out after {timeout} waiting for the value of key '{key}', which another caller is creating. No second creator was started.")
    {
        Key = key;
    }

    /// <summary>The cache key, when known.</summary>
    public string? Key { get; }
}
