using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Dogpile.Soak;

/// <summary>redis-server's INFO over one connection the sampler keeps open (so its own connects never show up).</summary>
internal sealed class RedisInfo : IDisposable
{
    private readonly TcpClient _client;

    private RedisInfo(TcpClient client) => _client = client;

    public static async Task<RedisInfo> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        return new RedisInfo(client);
    }

    /// <summary>used_memory in MB and connected_clients (this connection included).</summary>
    public async Task<(double UsedMb, int Clients)> ReadAsync(CancellationToken cancellationToken)
    {
        NetworkStream stream = _client.GetStream();
        await stream.WriteAsync("INFO\r\n"u8.ToArray(), cancellationToken);

        // A bulk string: "$<length>\r\n<length bytes>\r\n".
        var received = new List<byte>(8192);
        var buffer = new byte[8192];
        int total = -1;
        while (total < 0 || received.Count < total)
        {
            int read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("redis-server closed the connection.");
            }

            received.AddRange(buffer.AsSpan(0, read));
            if (total < 0 && received.IndexOf((byte)'\n') is int eol and > 0)
            {
                total = eol + 1 + int.Parse(Encoding.ASCII.GetString(received.GetRange(1, eol - 2).ToArray()), CultureInfo.InvariantCulture) + 2;
            }
        }

        string text = Encoding.ASCII.GetString(received.ToArray());
        return (Field(text, "used_memory") / (1024.0 * 1024.0), (int)Field(text, "connected_clients"));
    }

    private static double Field(string info, string name)
    {
        foreach (string line in info.Split("\r\n"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"redis INFO has no {name}");
    }

    public void Dispose() => _client.Dispose();
}
