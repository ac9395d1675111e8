using Dogpile.Internal;

namespace Dogpile.Memcached;

/// <summary>
/// Settings of the memcached client: which servers to use and how hard to try each one.
/// </summary>
/// <remarks>
/// Keys are spread over <see cref="Servers"/> with ketama consistent hashing. A server that cannot be reached or times out
/// has its circuit breaker opened (it is marked dead) for <see cref="DeadServerFirstRetryDelay"/>,
/// doubling per failed probe up to <see cref="DeadServerRetryDelay"/>; its keys are <b>not</b> remapped to the other
/// servers while it is dead (calls for them fail fast with <see cref="MemcachedServerUnavailableException"/>), because two servers
/// answering for one key would serve inconsistent values and break locks.
/// </remarks>
public sealed class MemcachedClientOptions : ICheckedOptions
{
    /// <summary>The servers, each as <c>host:port</c> (<c>[ipv6]:port</c> for IPv6; the port defaults to 11211).</summary>
    /// <value>Empty by default; at least one server is required.</value>
    public IList<string> Servers { get; } = new List<string>();

    /// <summary>The most sockets open to one server at any time; callers beyond it wait for a free connection.</summary>
    /// <value>8 by default; must be at least 1.</value>
    public int MaxConnectionsPerServer { get; set; } = 8;

    /// <summary>How long opening a connection may take before the server is marked dead.</summary>
    /// <value>5 seconds by default (as StackExchange.Redis's connect timeout); must be positive.</value>
    /// <remarks>
    /// A refused connection fails at once whatever this is; the timeout only bounds a server that does not answer.
    /// It is generous because a timeout marks the server dead for <see cref="DeadServerRetryDelay"/>: with 1 s, a
    /// loaded host whose connect completion waited on a busy thread pool took a healthy server out.
    /// </remarks>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one request (or one pipelined batch to one server) may take once it holds a connection.</summary>
    /// <value>1 second by default; must be positive.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a caller may wait for a free connection when all <see cref="MaxConnectionsPerServer"/> are busy.</summary>
    /// <value>1 second by default; must be positive.</value>
    public TimeSpan PoolWaitTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest a server's circuit breaker stays open between probes (see <see cref="DeadServerFirstRetryDelay"/>): a
    /// server that is back is used again within it.
    /// </summary>
    /// <value>5 seconds by default; must not be negative.</value>
    public TimeSpan DeadServerRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a server's circuit breaker stays open after its first failure (a connect refused or timed out, a request
    /// that timed out): calls for its keys fail at once, without waiting. Each failed probe doubles it, up to
    /// <see cref="DeadServerRetryDelay"/>, which is thus the longest a recovered server waits to be used again.
    /// </summary>
    /// <value>250 milliseconds by default (capped by <see cref="DeadServerRetryDelay"/>); must not be negative.</value>
    public TimeSpan DeadServerFirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The largest value the client sends or accepts, in bytes. Larger values are refused before anything is sent,
    /// and a reply announcing a larger value is treated as a protocol violation.
    /// </summary>
    /// <value>1 MiB by default (memcached's default <c>-I</c>); must be positive.</value>
    public int MaxItemSize { get; set; } = 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the invalid option (and listing every other problem).</summary>
    internal void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(MemcachedClientOptions));
        check.Require(Servers.Count > 0, nameof(Servers), "must list at least one server");
        foreach (string server in Servers)
        {
            try
            {
                _ = Client.ServerAddress.Parse(server);
            }
            catch (ArgumentException ex)
            {
                check.Add(nameof(Servers), ex.Message);
            }
        }

        check.Require(Servers.Distinct(StringComparer.OrdinalIgnoreCase).Count() == Servers.Count, nameof(Servers), "lists a server twice");
        check.AtLeast(MaxConnectionsPerServer, 1, nameof(MaxConnectionsPerServer));
        check.Positive(ConnectTimeout, nameof(ConnectTimeout));
        check.Positive(RequestTimeout, nameof(RequestTimeout));
        check.Positive(PoolWaitTimeout, nameof(PoolWaitTimeout));
        check.NotNegative(DeadServerRetryDelay, nameof(DeadServerRetryDelay));
        check.NotNegative(DeadServerFirstRetryDelay, nameof(DeadServerFirstRetryDelay));
        check.AtLeast(MaxItemSize, 1, nameof(MaxItemSize));
        return check;
    }
}
