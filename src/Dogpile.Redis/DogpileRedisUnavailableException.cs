namespace Dogpile.Redis;

/// <summary>
/// Redis could not be reached, refused the call (loading, busy), or did not answer within
/// <see cref="DogpileRedisOptions.OperationTimeout"/>. The message says which, and how long the call took. The call
/// failed fast; the connection is re-established in the background and later calls succeed once Redis is back.
/// </summary>
public sealed class DogpileRedisUnavailableException : Exception
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

    /// <summary>
    /// Whether Redis may have run the command anyway, or may still run it: it was sent and no answer came (a time-out, a
    /// connection lost on the way). False when it was never sent (not connected) or the server refused it.
    /// </summary>
    internal bool MayHaveRun { get; init; }
}
