using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dogpile.Testing;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>
/// A real three-node Redis Cluster (masters only) of redis-server child processes on free loopback ports, each with
/// a third of the 16,384 slots, for one test class. Formed with the servers' own commands (<c>CLUSTER ADDSLOTSRANGE</c>,
/// <c>CLUSTER MEET</c>), so it needs nothing but redis-server 7.
/// </summary>
public sealed class RedisCluster : IAsyncLifetime
{
    private const int NodeCount = 3;
    private const int SlotCount = 16384;

    private readonly string _directory = Directory.CreateTempSubdirectory("dogpile-cluster-").FullName;
    private readonly List<RedisServer> _nodes = [];

    /// <summary>Every node's endpoint: a client discovers the slot map from any of them.</summary>
    /// <summary>The nodes, to read each one's <see cref="RedisServer.CommandCallsAsync"/>.</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    public string ConnectionString => string.Join(",", _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    public async Task InitializeAsync()
    {
        var busPorts = new List<int>();
        for (int i = 0; i < NodeCount; i++)
        {
            int busPort = ServerProcess.FreePort();
            busPorts.Add(busPort);
            var node = new RedisServer(
            [
                "--cluster-enabled", "yes",
                "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture),
                "--cluster-config-file", Path.Combine(_directory, $"nodes-{i}.conf"),
                "--cluster-node-timeout", "5000",
                "--dir", _directory,
            ]);
            _nodes.Add(node);
            await node.InitializeAsync();
        }

        for (int i = 0; i < NodeCount; i++)
        {
            int first = i * SlotCount / NodeCount, last = ((i + 1) * SlotCount / NodeCount) - 1;
            await ExpectOkAsync(_nodes[i].Port, "CLUSTER", "ADDSLOTSRANGE", first.ToString(CultureInfo.InvariantCulture), last.ToString(CultureInfo.InvariantCulture));
        }

        for (int i = 1; i < NodeCount; i++)
        {
            await ExpectOkAsync(_nodes[0].Port, "CLUSTER", "MEET", "127.0.0.1", _nodes[i].Port.ToString(CultureInfo.InvariantCulture), busPorts[i].ToString(CultureInfo.InvariantCulture));
        }

        var deadline = Stopwatch.StartNew();
        while (!await AllNodesReadyAsync())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"The test cluster ({ConnectionString}) did not reach cluster_state:ok with {NodeCount} known nodes within 30 s.");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (RedisServer node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private async Task<bool> AllNodesReadyAsync()
    {
        foreach (RedisServer node in _nodes)
        {
            string info = await CommandAsync(node.Port, "CLUSTER", "INFO");
            if (!info.Contains("cluster_state:ok", StringComparison.Ordinal)
                || !info.Contains($"cluster_known_nodes:{NodeCount}", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task ExpectOkAsync(int port, params string[] command)
    {
        string reply = await CommandAsync(port, command);
        if (reply != "OK")
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} on port {port} answered '{reply}'.");
        }
    }

    /// <summary>Sends one command in RESP on its own connection and returns a simple or bulk string reply.</summary>
    private static async Task<string> CommandAsync(int port, params string[] command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (string part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            int read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                throw new IOException($"redis-server on port {port} closed the connection before answering {command[0]}.");
            }

            received.AddRange(buffer.AsSpan(0, read));
            if (TryParse(Encoding.UTF8.GetString(received.ToArray()), out string reply))
            {
                return reply;
            }
        }
    }

    private static bool TryParse(string text, out string reply)
    {
        reply = "";
        int lineEnd = text.IndexOf("\r\n", StringComparison.Ordinal);
        if (lineEnd < 0)
        {
            return false;
        }

        string head = text[..lineEnd];
        switch (head[0])
        {
            case '+':
                reply = head[1..];
                return true;
            case '-':
                reply = head;
                return true;
            case '$':
                int length = int.Parse(head[1..], CultureInfo.InvariantCulture);
                if (Encoding.UTF8.GetByteCount(text) < Encoding.UTF8.GetByteCount(head) + 2 + length + 2)
                {
                    return false;
                }

                reply = text.Substring(lineEnd + 2, length);
                return true;
            default:
                reply = head;
                return true;
        }
    }
}
