namespace Dogpile.Memcached;

/// <summary>
/// Settings of the memcached client: which servers to use and how hard to try each one.
/// </summary>
/// <remarks>
/// Keys are spread over <see cref="Servers"/> with ketama consistent hashing. A server that cannot be reached is
/// marked dead for <see cref="DeadServerRetryDelay"/>; its keys are <b>not</b> remapped to the other servers while it
/// is dead (calls for them fail fast with <see cref="MemcachedServerUnavailableException"/>), because two servers
/// answering for one key would serve inconsistent values and break locks.
/// </remarks>
public sealed class MemcachedClientOptions
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

    /// <summary>How long a server that could not be reached is considered dead before a call tries it again.</summary>
    /// <value>5 seconds by default; must not be negative.</value>
    public TimeSpan DeadServerRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The largest value the client sends or accepts, in bytes. Larger values are refused before anything is sent,
    /// and a reply announcing a larger value is treated as a protocol violation.
    /// </summary>
    /// <value>1 MiB by default (memcached's default <c>-I</c>); must be positive.</value>
    public int MaxItemSize { get; set; } = 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (Servers.Count == 0)
        {
            throw new ArgumentException($"{nameof(MemcachedClientOptions)}.{nameof(Servers)} must list at least one server.", nameof(Servers));
        }

        foreach (var server in Servers)
        {
            _ = Client.ServerAddress.Parse(server);
        }

        if (Servers.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Servers.Count)
        {
            throw new ArgumentException($"{nameof(MemcachedClientOptions)}.{nameof(Servers)} lists a server twice.", nameof(Servers));
        }

        Require(MaxConnectionsPerServer >= 1, nameof(MaxConnectionsPerServer), "must be at least 1");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), "must be positive");
        Require(RequestTimeout > TimeSpan.Zero, nameof(RequestTimeout), "must be positive");
        Require(PoolWaitTimeout > TimeSpan.Zero, nameof(PoolWaitTimeout), "must be positive");
        Require(DeadServerRetryDelay >= TimeSpan.Zero, nameof(DeadServerRetryDelay), "must not be negative");
        Require(MaxItemSize >= 1, nameof(MaxItemSize), "must be positive");
    }

    private static void Require(bool condition, string option, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{nameof(MemcachedClientOptions)}.{option} {rule}.", option);
        }
    }
}
