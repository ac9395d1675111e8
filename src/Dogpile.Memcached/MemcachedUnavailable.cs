using System.Globalization;
using System.Net.Sockets;

namespace Dogpile.Memcached;

/// <summary>
/// The boundary between the client's failures and the region's: a connect refused or timed out, a request timed out, a
/// connection lost or a server whose breaker is open becomes <see cref="CacheBackendUnavailableException"/> (with the
/// client's exception inside), which a region under <see cref="CacheBackendFailurePolicy.Degrade"/> serves around. The
/// client keeps its own types for those who use it directly.
/// </summary>
internal static class MemcachedUnavailable
{
    public static bool Is(Exception ex) => ex is MemcachedConnectionException or MemcachedTimeoutException or MemcachedServerUnavailableException;

    public static CacheBackendUnavailableException Wrap(string what, Exception ex, TimeSpan elapsed)
    {
        (CacheBackendFailure failure, string happened) = ex switch
        {
            MemcachedServerUnavailableException => (CacheBackendFailure.BreakerOpen, "was not sent (breaker open)"),
            MemcachedTimeoutException => (CacheBackendFailure.TimedOut, $"timed out after {Milliseconds(elapsed)}"),
            MemcachedConnectionException { InnerException: SocketException } => (CacheBackendFailure.NotConnected, $"could not connect (failed after {Milliseconds(elapsed)})"),
            _ => (CacheBackendFailure.ConnectionLost, $"lost its connection after {Milliseconds(elapsed)}"),
        };
        return new CacheBackendUnavailableException(
            $"memcached is unavailable: {what} {happened}. {ex.Message}",
            failure,
            failure == CacheBackendFailure.BreakerOpen ? TimeSpan.Zero : elapsed,
            ex);
    }

    private static string Milliseconds(TimeSpan span) => span.TotalMilliseconds.ToString("#,0", CultureInfo.InvariantCulture) + " ms";
}
