using System.Globalization;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>
/// A real redis-server child process on a free loopback port, for one test class (or collection). It can be stopped
/// and started again on the same port, for outage tests. A missing binary is a failure, not a skip.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private const string MissingMessage =
        "redis-server was not found (looked for /usr/bin/redis-server and on PATH). The Redis tests need a real server: " +
        "run the test command from docs/redis.md ('apt-get install -y redis-server && dotnet test tests/Dogpile.Redis.Tests').";

    private readonly IReadOnlyList<string> _extraArguments;
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    public RedisServer()
        : this([])
    {
    }

    /// <summary>A server started with more arguments (a cluster node's, say); <paramref name="port"/> 0 picks a free one.</summary>
    internal RedisServer(IReadOnlyList<string> extraArguments, int port = 0)
    {
        _extraArguments = extraArguments;
        Port = port;
    }

    public int Port { get; private set; }

    public string ConnectionString => $"127.0.0.1:{Port},allowAdmin=true";

    public bool IsRunning => _process is { HasExited: false };

    public async Task InitializeAsync()
    {
        if (Port == 0)
        {
            Port = FreePort();
        }

        await StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        Stop();
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        string binary = FindBinary() ?? throw new InvalidOperationException(MissingMessage);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no" }.Concat(_extraArguments))
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (!await PingAsync())
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} on port {Port}.");
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within 10 s.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Kills the server process and waits for it to exit.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>A shared admin connection for inspecting the server from tests (not counted as Dogpile's).</summary>
    public async Task<IDatabase> AdminAsync()
    {
        _admin ??= await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { { IPAddress.Loopback, Port } },
            AllowAdmin = true,
            AbortOnConnectFail = false,
            ClientName = "test-admin",
        });
        return _admin.GetDatabase();
    }

    /// <summary>How many times the server ran these commands (<c>INFO commandstats</c>), those run inside scripts included.</summary>
    public async Task<long> CommandCallsAsync(params string[] commands)
    {
        IDatabase admin = await AdminAsync();
        string info = (string)(await admin.ExecuteAsync("INFO", "commandstats"))!;
        long calls = 0;
        foreach (string line in info.Split('\n'))
        {
            foreach (string command in commands)
            {
                if (line.StartsWith($"cmdstat_{command}:", StringComparison.Ordinal))
                {
                    string value = line.Split(':')[1].Split(',')[0]; // calls=N
                    calls += long.Parse(value["calls=".Length..], CultureInfo.InvariantCulture);
                }
            }
        }

        return calls;
    }

    /// <summary>How many clients with this name are connected (<c>CLIENT LIST</c>).</summary>
    public async Task<int> ClientCountAsync(string clientName)
    {
        IDatabase admin = await AdminAsync();
        string list = (string)(await admin.ExecuteAsync("CLIENT", "LIST"))!;
        return list.Split('\n').Count(line => line.Contains($" name={clientName} ", StringComparison.Ordinal));
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("PING\r\n"));
            var buffer = new byte[16];
            int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static string? FindBinary()
    {
        if (File.Exists("/usr/bin/redis-server"))
        {
            return "/usr/bin/redis-server";
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    internal static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
