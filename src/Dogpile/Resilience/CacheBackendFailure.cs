namespace Dogpile;

/// <summary>What kind of failure a <see cref="CacheBackendUnavailableException"/> reports.</summary>
public enum CacheBackendFailure
{
    /// <summary>Not classified.</summary>
    Unknown,

    /// <summary>No connection: the server refused it, or none is established; nothing was sent.</summary>
    NotConnected,

    /// <summary>The call was sent and no answer came within the timeout.</summary>
    TimedOut,

    /// <summary>The connection broke while the call was under way.</summary>
    ConnectionLost,

    /// <summary>The server answered with a refusal (loading, busy, out of memory).</summary>
    Refused,

    /// <summary>Skipped without touching the network: the connection's circuit breaker is open after recent failures.</summary>
    BreakerOpen,
}
