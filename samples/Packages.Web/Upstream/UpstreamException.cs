namespace Packages.Web.Upstream;

/// <summary>
/// The bug tracker failed: a 5xx, an answer that is not the expected JSON, a timeout, or no connection.
/// Thrown from a cache creator, so the region keeps (and serves) the stale value when there is one,
/// and callers with nothing cached get a 502.
/// </summary>
public sealed class UpstreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UpstreamException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, in words fit for a user.</param>
    public UpstreamException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, in words fit for a user.</param>
    /// <param name="innerException">The cause.</param>
    public UpstreamException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
