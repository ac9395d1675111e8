namespace Dogpile;

/// <summary>
/// The shared backend (or its lock or invalidation store) could not be used: not reachable, refused, timed out, the
/// connection lost mid-call, or skipped because its circuit breaker is open. The message says which and how long the call
/// actually waited. Adapters throw this type or a subtype (<c>DogpileRedisUnavailableException</c>); a region under
/// <see cref="CacheBackendFailurePolicy.Degrade"/> serves around it instead of passing it on.
/// </summary>
public class CacheBackendUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CacheBackendUnavailableException()
        : base("The cache backend is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public CacheBackendUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The client's error.</param>
    public CacheBackendUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened, with the time waited.</param>
    /// <param name="failure">What kind of failure it was.</param>
    /// <param name="elapsed">How long the call waited before it failed.</param>
    /// <param name="innerException">The client's error, if any.</param>
    public CacheBackendUnavailableException(string message, CacheBackendFailure failure, TimeSpan elapsed, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        Elapsed = elapsed;
    }

    /// <summary>What kind of failure it was.</summary>
    /// <value>Default: <see cref="CacheBackendFailure.Unknown"/>.</value>
    public CacheBackendFailure Failure { get; init; }

    /// <summary>How long the call waited before it failed (zero when the breaker was open: nothing was sent).</summary>
    public TimeSpan Elapsed { get; init; }
}
