using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dogpile.Testing;

/// <summary>
/// A real redis-server or memcached as a child process on a loopback port, for tests. A missing binary fails with how
/// to install it, never a skip. <see cref="Kill"/> ends the process like a crash; <see cref="StartAsync"/> starts it
/// again on the same port.
/// </summary>
public sealed class ServerProcess : IDisposable, IAsyncDisposable
{
    // Generous: with test assemblies running side by side on two cores, a server can take seconds to answer.
    private static readonly TimeSpan StartupDeadline = TimeSpan.FromSeconds(15);

    // The binary's name, which is also its Debian package's.
    private readonly string _program;
    private readonly IReadOnlyList<string> _arguments;
    private readonly Func<int, bool> _answers;
    private ChildProcess? _process;

    private ServerProcess(string program, int port, IReadOnlyList<string> arguments, Func<int, bool> answers)
    {
        _program = program;
        Port = port;
        _arguments = arguments;
        _answers = answers;
    }

    public int Port { get; }

    /// <summary>The server as client options spell it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>A redis-server without persistence, ready once it answers PING. Not started yet.</summary>
    /// <param name="port">The port; 0 picks a free one.</param>
    /// <param name="extraArguments">More command-line arguments (a cluster node's, say).</param>
    /// <returns>The server.</returns>
    public static ServerProcess Redis(int port = 0, IReadOnlyList<string>? extraArguments = null)
    {
        port = port == 0 ? FreePort() : port;
        string[] arguments =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no",
            .. extraArguments ?? [],
        ];
        return new ServerProcess("redis-server", port, arguments, AnswersPing);
    }

    /// <summary>A memcached with 64 MB on a free port, ready once it accepts a connection. Not started yet.</summary>
    /// <returns>The server.</returns>
    public static ServerProcess Memcached()
    {
        int port = FreePort();
        var arguments = new List<string> { "-l", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "0", "-m", "64" };
        if (Environment.IsPrivilegedProcess)
        {
            // memcached refuses to run as root unless told which user to become.
            arguments.AddRange(["-u", "root"]);
        }

        return new ServerProcess("memcached", port, arguments, Accepts);
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers.</summary>
    /// <returns>A task that completes once the server answers.</returns>
    public async Task StartAsync()
    {
        var waited = Stopwatch.StartNew();
        ChildProcess? process = Launch();
        while (process is not null && !Answers(process, waited))
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the process; null when it already runs.</summary>
    private ChildProcess? Launch()
    {
        if (IsRunning)
        {
            return null;
        }

        // The process alone on kill: neither server forks here (redis-server runs without persistence), and a tree kill
        // reads every process in /proc first, tens of milliseconds that block one of xunit's few test threads.
        _process = ChildProcess.Start(FindBinary(), _arguments, new ChildProcessOptions { Name = _program, KillProcessTree = false });
        return _process;
    }

    /// <summary>Whether the server answers yet; throws, with its standard error, once it exited or the deadline passed.</summary>
    private bool Answers(ChildProcess process, Stopwatch waited)
    {
        if (_answers(Port))
        {
            return true;
        }

        if (!process.HasExited && waited.Elapsed <= StartupDeadline)
        {
            return false;
        }

        bool exited = process.HasExited;

        // Killed (and so read to the end) before the message, so that it has the last of the server's standard error.
        process.Kill();
        string why = exited ? $"exited with code {process.ExitCode}" : $"did not answer within {StartupDeadline.TotalSeconds:F0} s";
        string errors = process.StandardError.Trim();
        Kill();
        throw new InvalidOperationException($"{_program} on port {Port} {why}. Its standard error: {(errors.Length == 0 ? "(empty)" : errors)}");
    }

    /// <summary>Whether the server is frozen by <see cref="Pause"/>.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>
    /// Freezes the server (SIGSTOP): its sockets stay open and the kernel keeps accepting what clients send, but nothing
    /// is answered, and what was sent runs when <see cref="Resume"/> lets it go on. Nothing when already frozen.
    /// </summary>
    public void Pause()
    {
        if (!IsPaused)
        {
            (_process ?? throw new InvalidOperationException($"{_program} on port {Port} is not running.")).Pause();
            IsPaused = true;
        }
    }

    /// <summary>Lets a frozen server go on (SIGCONT); nothing when it is not frozen.</summary>
    public void Resume()
    {
        if (IsPaused)
        {
            IsPaused = false;
            _process?.Resume();
        }
    }

    /// <summary>Kills the process, with no graceful shutdown (like a crash), and waits for it to be gone.</summary>
    public void Kill()
    {
        ChildProcess? process = _process;
        _process = null;
        IsPaused = false;
        process?.Dispose();
    }

    public void Dispose() => Kill();

    public ValueTask DisposeAsync()
    {
        Kill();
        return ValueTask.CompletedTask;
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    /// <returns>The port.</returns>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private string FindBinary()
    {
        string[] directories = ["/usr/bin", "/usr/local/bin", "/usr/sbin", .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)];
        return directories.Select(directory => Path.Combine(directory, _program)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"{_program} was not found in /usr/bin, /usr/local/bin, /usr/sbin or on PATH. These tests need a real server: " +
                $"run the README's test command (./test.sh), which installs it (apt-get install -y {_program}), then rerun them.");
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // Redis accepts connections before it can serve them (while loading, say); a PONG means it serves.
    private static bool AnswersPing(int port)
    {
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 1000 };
            socket.Connect(IPAddress.Loopback, port);
            socket.Send("PING\r\n"u8);
            var buffer = new byte[16];
            int read = socket.Receive(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
