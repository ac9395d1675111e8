namespace Dogpile.Redis;

/// <summary>
/// Redis could not be reached, refused the call (loading, busy), did not answer within
/// <see cref="DogpileRedisOptions.OperationTimeout"/>, or was skipped because the connection's circuit breaker is open.
/// The message says which, and how long the call actually waited (<see cref="CacheBackendUnavailableException.Elapsed"/>,
/// <see cref="CacheBackendUnavailableException.Failure"/>). The connection is re-established in the background and later
/// calls succeed once Redis is back. A region under <see cref="CacheBackendFailurePolicy.Degrade"/> (the default) serves
/// around it; under <see cref="CacheBackendFailurePolicy.Throw"/> it reaches the caller.
/// </summary>
public sealed class DogpileRedisUnavailableException : CacheBackendUnavailableException
{
    /// <summary>Creates the exception.</summary>
    public DogpileRedisUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public DogpileRedisUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The client's error.</param>
    public DogpileRedisUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal DogpileRedisUnavailableException(string message, Exception? innerException, CacheBackendFailure failure, TimeSpan elapsed)
        : base(message, failure, elapsed, innerException)
    {
    }

    /// <summary>
    /// Whether Redis may have run the command anyway, or may still run it: it was sent and no answer came (a time-out, a
    /// connection lost on the way). False when it was never sent (not connected, breaker open) or the server refused it.
    /// </summary>
    internal bool MayHaveRun { get; init; }
}
