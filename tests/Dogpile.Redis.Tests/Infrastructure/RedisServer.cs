using System.Globalization;
using System.Net;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>
/// A real redis-server child process on a free loopback port, for one test class (or collection). It can be stopped
/// and started again on the same port, for outage tests. A missing binary is a failure, not a skip.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private readonly IReadOnlyList<string> _extraArguments;
    private readonly int _requestedPort;
    private ServerProcess? _server;
    private ConnectionMultiplexer? _admin;

    public RedisServer()
        : this([])
    {
    }

    /// <summary>A server started with more arguments (a cluster node's, say); <paramref name="port"/> 0 picks a free one.</summary>
    internal RedisServer(IReadOnlyList<string> extraArguments, int port = 0)
    {
        _extraArguments = extraArguments;
        _requestedPort = port;
    }

    public int Port => Server.Port;

    public string ConnectionString => $"127.0.0.1:{Port},allowAdmin=true";

    public bool IsRunning => _server is { IsRunning: true };

    private ServerProcess Server => _server ?? throw new InvalidOperationException("The server has not been initialized.");

    public Task InitializeAsync()
    {
        _server = ServerProcess.Redis(_requestedPort, _extraArguments);
        return _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        Resume();
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        Stop();
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers PING.</summary>
    public Task StartAsync() => Server.StartAsync();

    /// <summary>Kills the server process (SIGKILL: no shutdown, and, without persistence, every key lost) and waits for it to exit.</summary>
    public void Stop()
    {
        Resume();
        _server?.Kill();
    }

    /// <summary>Whether the server is frozen by <see cref="Pause"/>.</summary>
    public bool IsPaused => Server.IsPaused;

    /// <summary>
    /// Freezes the server with SIGSTOP: its sockets stay open and the kernel keeps accepting what clients send, but
    /// nothing is answered, and what was sent runs when <see cref="Resume"/> lets it go on.
    /// </summary>
    public void Pause() => Server.Pause();

    /// <summary>Lets a frozen server go on (SIGCONT); nothing when it is not frozen.</summary>
    public void Resume() => _server?.Resume();

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
        // This server's, by its endpoint: a cluster node's admin connection would send INFO to any node.
        await AdminAsync();
        string info = (await _admin!.GetServer(IPAddress.Loopback, Port).InfoRawAsync("commandstats"))!;
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
}
