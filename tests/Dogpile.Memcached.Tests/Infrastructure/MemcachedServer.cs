using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dogpile.Memcached.Tests.Infrastructure;

/// <summary>
/// A real memcached process on a free loopback port, owned by one test class. It can be killed and started again
/// on the same port to test dead-server handling. A missing binary fails the test: never a silent skip.
/// </summary>
public sealed class MemcachedServer : IDisposable
{
    public const string BinaryPath = "/usr/bin/memcached";
    private static readonly TimeSpan StartupDeadline = TimeSpan.FromSeconds(10);

    private readonly string _extraArguments;
    private Process? _process;

    public MemcachedServer()
        : this("")
    {
    }

    // Internal so xunit sees a single public constructor when this is a class fixture.
    internal MemcachedServer(string extraArguments)
    {
        _extraArguments = extraArguments;
        Port = FindFreePort();
        Start();
    }

    public int Port { get; }

    /// <summary>The server as the client options spell it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts memcached (again) on <see cref="Port"/> and waits until it accepts connections.</summary>
    public void Start()
    {
        if (!File.Exists(BinaryPath))
        {
            throw new InvalidOperationException(
                $"memcached is not installed at {BinaryPath}. The memcached tests need a real server: run the test command " +
                "from the README, which installs it (apt-get install -y memcached), then rerun the tests.");
        }

        if (IsRunning)
        {
            return;
        }

        // memcached refuses to run as root unless told which user to become.
        var user = Environment.IsPrivilegedProcess ? " -u root" : "";
        var info = new ProcessStartInfo(BinaryPath, $"-l 127.0.0.1 -p {Port} -U 0 -m 64{user} {_extraArguments}")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var errors = new StringBuilder();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {BinaryPath}.");
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (!CanConnect())
        {
            if (process.HasExited || deadline.Elapsed > StartupDeadline)
            {
                Stop();
                string stderr;
                lock (errors)
                {
                    stderr = errors.ToString();
                }

                throw new InvalidOperationException($"memcached did not start on port {Port} within {StartupDeadline}: {stderr}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Kills the process (no graceful shutdown, like a crash) and waits for it to be gone.</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.WaitForExit(5000);
        }
        finally
        {
            process.Dispose();
        }
    }

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

    private bool CanConnect()
    {
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FindFreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose() => Stop();
}

/// <summary>Two memcached servers for multi-server tests.</summary>
public sealed class TwoMemcachedServers : IDisposable
{
    public MemcachedServer First { get; } = new();

    public MemcachedServer Second { get; } = new();

    public void Dispose()
    {
        First.Dispose();
        Second.Dispose();
    }
}
