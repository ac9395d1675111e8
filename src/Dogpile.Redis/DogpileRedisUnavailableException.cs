namespace Dogpile.Redis;

/// <summary>
/// Redis could not be reached, or did not answer within <see cref="DogpileRedisOptions.OperationTimeout"/>. The call
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
}
