using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Packages.Tests.Distributed;

/// <summary>A real redis-server or memcached on a free loopback port, started for a test and killed after it.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public static Task<ServerProcess> StartRedisAsync()
    {
        int port = FreePort();
        return StartAsync("redis-server", port, "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
    }

    public static Task<ServerProcess> StartMemcachedAsync()
    {
        int port = FreePort();
        var args = new List<string> { "-l", "127.0.0.1", "-p", port.ToString(), "-U", "0", "-m", "64" };
        if (Environment.UserName == "root")
        {
            args.AddRange(["-u", "root"]);
        }

        return StartAsync("memcached", port, [.. args]);
    }

    private static async Task<ServerProcess> StartAsync(string program, int port, params string[] args)
    {
        string? path = new[] { "/usr/bin", "/usr/local/bin", "/usr/sbin" }.Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            Assert.Fail($"{program} is not installed. Run the README's test command (./test.sh), which installs it with apt-get.");
        }

        var info = new ProcessStartInfo(path) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return new ServerProcess(process, port);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
