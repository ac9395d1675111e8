using System.Globalization;
using System.Net;

namespace Dogpile.Memcached.Client;

/// <summary>A configured server: its text as configured (the ketama ring hashes it) and where to connect.</summary>
internal sealed class ServerAddress
{
    private const int DefaultPort = 11211;

    private ServerAddress(string host, int port, EndPoint endPoint)
    {
        Host = host;
        Port = port;
        EndPoint = endPoint;
    }

    public string Host { get; }

    public int Port { get; }

    public EndPoint EndPoint { get; }

    /// <summary>The <c>host:port</c> string that names this server on the ketama ring.</summary>
    public string RingName => $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    public override string ToString() => RingName;

    /// <summary>Parses <c>host</c>, <c>host:port</c>, <c>ipv4:port</c> or <c>[ipv6]:port</c>.</summary>
    /// <exception cref="ArgumentException">The text is not a server address.</exception>
    public static ServerAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        string host;
        var portText = "";
        if (trimmed.StartsWith('['))
        {
            var close = trimmed.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Bad(text);
            }

            host = trimmed[1..close];
            var after = trimmed[(close + 1)..];
            if (after.Length > 0)
            {
                portText = after.StartsWith(':') ? after[1..] : throw Bad(text);
            }
        }
        else
        {
            var colon = trimmed.LastIndexOf(':');
            host = colon < 0 ? trimmed : trimmed[..colon];
            portText = colon < 0 ? "" : trimmed[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                throw Bad(text);
            }
        }

        var port = DefaultPort;
        if (portText.Length > 0 && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw Bad(text);
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            throw Bad(text);
        }

        EndPoint endPoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        return new ServerAddress(host, port, endPoint);
    }

    private static ArgumentException Bad(string text) =>
        new($"{nameof(MemcachedClientOptions)}.{nameof(MemcachedClientOptions.Servers)}: '{text}' is not a memcached server address; expected host:port (or [ipv6]:port).", nameof(text));
}
