using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Infrastructure;

/// <summary>
/// A real memcached process on a free loopback port, owned by one test class (xunit starts it as a fixture) or one test
/// (<see cref="StartNewAsync"/>). It can be killed and started again on the same port to test dead-server handling. A
/// missing binary fails the test: never a silent skip.
/// </summary>
public sealed class MemcachedServer : IAsyncLifetime, IDisposable
{
    private readonly ServerProcess _server = ServerProcess.Memcached();

    public int Port => _server.Port;

    /// <summary>The server as the client options spell it.</summary>
    public string Endpoint => _server.Endpoint;

    public bool IsRunning => _server.IsRunning;

    /// <summary>A started server, for a test that owns one.</summary>
    public static async Task<MemcachedServer> StartNewAsync()
    {
        var server = new MemcachedServer();
        await server.StartAsync();
        return server;
    }

    public Task InitializeAsync() => StartAsync();

    public Task DisposeAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    /// <summary>Starts memcached (again) on <see cref="Port"/> and waits until it accepts connections.</summary>
    public Task StartAsync() => _server.StartAsync();

    /// <summary>Kills the process (no graceful shutdown, like a crash) and waits for it to be gone.</summary>
    public void Stop()
    {
        Resume();
        _server.Kill();
    }

    /// <summary>
    /// Freezes the server with SIGSTOP: its sockets stay open and the kernel keeps accepting what clients send, but
    /// nothing is answered until <see cref="Resume"/>.
    /// </summary>
    public Task PauseAsync()
    {
        _server.Pause();
        return Task.CompletedTask;
    }

    /// <summary>Lets a frozen server go on (SIGCONT); nothing when it is not frozen.</summary>
    public void Resume() => _server.Resume();

    public Task KillAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    /// <summary>Reads the server's <c>stats</c> over a fresh connection (which itself counts in curr_connections).</summary>
    public async Task<Dictionary<string, string>> StatsAsync()
    {
        await using var session = await OpenStatsSessionAsync();
        return await session.StatsAsync();
    }

    public async Task<int> CurrentConnectionsAsync()
    {
        await using var session = await OpenStatsSessionAsync();
        return await session.CurrentConnectionsAsync();
    }

    /// <summary>
    /// One connection for repeated <c>stats</c> calls. Sampling over a single socket keeps the count honest: a
    /// fresh socket per sample could still be counted by the server after we closed it.
    /// </summary>
    public async Task<StatsSession> OpenStatsSessionAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        return new StatsSession(client);
    }

    public sealed class StatsSession : IAsyncDisposable
    {
        private readonly TcpClient _client;

        internal StatsSession(TcpClient client) => _client = client;

        public async Task<Dictionary<string, string>> StatsAsync()
        {
            var stream = _client.GetStream();
            await stream.WriteAsync("stats\r\n"u8.ToArray());
            var text = new StringBuilder();
            var buffer = new byte[8192];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (!text.ToString().EndsWith("END\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    throw new InvalidOperationException("memcached closed the stats connection.");
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            return text.ToString()
                .Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
                .Where(line => line.StartsWith("STAT ", StringComparison.Ordinal))
                .Select(line => line.Split(' ', 3))
                .ToDictionary(parts => parts[1], parts => parts[2]);
        }

        public async Task<int> CurrentConnectionsAsync() =>
            int.Parse((await StatsAsync())["curr_connections"], CultureInfo.InvariantCulture);

        public ValueTask DisposeAsync()
        {
            _client.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    public void Dispose() => Stop();
}

/// <summary>Two memcached servers for multi-server tests.</summary>
public sealed class TwoMemcachedServers : IAsyncLifetime, IDisposable
{
    public MemcachedServer First { get; } = new();

    public MemcachedServer Second { get; } = new();

    /// <summary>Two started servers, for a test that owns them.</summary>
    public static async Task<TwoMemcachedServers> StartNewAsync()
    {
        var servers = new TwoMemcachedServers();
        await servers.InitializeAsync();
        return servers;
    }

    public Task InitializeAsync() => Task.WhenAll(First.StartAsync(), Second.StartAsync());

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        First.Dispose();
        Second.Dispose();
    }
}
