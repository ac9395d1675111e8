using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace Dogpile.Testing;

/// <summary>
/// A child process for tests and benchmarks: <c>dotnet app.dll args</c>, this executable again, or any program. Its
/// standard output is read line by line (wait for a line, ask and read the answer, read to the end), its standard
/// error is kept and put into every failure message (a child that dies says why), and disposing it kills it and its
/// own children. A child still running when this process exits is killed then, so none is left behind.
/// </summary>
/// <remarks>
/// The pid is the app's own: the dotnet host runs the app in its process, so /proc/&lt;pid&gt; describes the app.
/// Failures are plain exceptions (<see cref="TimeoutException"/>, <see cref="InvalidOperationException"/>), so that
/// benchmarks can use this without a test framework; a test fails with their message.
/// </remarks>
public sealed class ChildProcess : IDisposable, IAsyncDisposable
{
    // Unread stdout lines kept; beyond this the oldest are dropped, so a chatty child that nobody reads (a server, the
    // showcase during a soak) cannot grow this process's memory without bound.
    private const int OutputLines = 100_000;

    // How long Kill waits for the process to be gone, and a failure message for the last of its standard error.
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StreamsWait = TimeSpan.FromSeconds(2);

    // Every child not yet disposed: killed when this process exits, so a forgotten one is not orphaned.
    private static readonly ConcurrentDictionary<ChildProcess, byte> Live = new();

    private readonly Process _process;
    private readonly bool _killTree;
    private readonly Channel<string> _lines = Channel.CreateBounded<string>(
        new BoundedChannelOptions(OutputLines) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });
    private readonly Queue<string> _stderr = new();
    private readonly int _stderrLimit;
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (ChildProcess child in Live.Keys)
            {
                child.Kill();
            }
        };
    }

    private const string DefaultSigintOption = "--default-signal=INT";

    private ChildProcess(ProcessStartInfo info, ChildProcessOptions options)
    {
        // Started through env (DefaultSigint), the program is env's argument.
        string file = info.FileName;
        List<string> arguments = [.. info.ArgumentList];
        if (Path.GetFileName(file) == "env" && arguments.Count > 1 && arguments[0] == DefaultSigintOption)
        {
            file = arguments[1];
            arguments = arguments[2..];
        }

        bool host = Path.GetFileNameWithoutExtension(file) == "dotnet" && arguments.Count > 0;
        Name = options.Name ?? Path.GetFileName(host ? arguments[0] : file);
        _killTree = options.KillProcessTree;
        _stderrLimit = Math.Max(1, options.StandardErrorLines);
        bool echo = options.EchoOutput;
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
                return;
            }

            if (echo)
            {
                Console.Out.WriteLine(e.Data);
            }

            _lines.Writer.TryWrite(e.Data);
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _stderrClosed.TrySetResult();
                return;
            }

            if (echo)
            {
                Console.Error.WriteLine(e.Data);
            }

            lock (_stderr)
            {
                _stderr.Enqueue(e.Data);
                if (_stderr.Count > _stderrLimit)
                {
                    _stderr.Dequeue();
                }
            }
        };

        try
        {
            _process.Start();
        }
        catch
        {
            _process.Dispose();
            throw;
        }

        Id = _process.Id;
        Live[this] = 0;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The name failure messages use.</summary>
    public string Name { get; }

    /// <summary>The process id.</summary>
    public int Id { get; }

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the child wrote to its standard error (<see cref="ChildProcessOptions.StandardErrorLines"/>), one per line.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return string.Join(Environment.NewLine, _stderr);
            }
        }
    }

    /// <summary>Starts <paramref name="program"/> (a path, or a name looked up on PATH) with <paramref name="arguments"/>.</summary>
    /// <param name="program">The executable.</param>
    /// <param name="arguments">Its arguments, each passed as one argument (no shell quoting).</param>
    /// <param name="options">Name, working directory, environment; defaults when null.</param>
    /// <returns>The running child.</returns>
    public static ChildProcess Start(string program, IEnumerable<string> arguments, ChildProcessOptions? options = null)
    {
        options ??= new ChildProcessOptions();
        bool viaEnv = options.DefaultSigint && OperatingSystem.IsLinux();
        var info = new ProcessStartInfo(viaEnv ? "env" : program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (options.WorkingDirectory is not null)
        {
            info.WorkingDirectory = options.WorkingDirectory;
        }

        if (viaEnv)
        {
            // env resets the disposition and execs the program: same pid, SIGINT back to its default.
            info.ArgumentList.Add(DefaultSigintOption);
            info.ArgumentList.Add(program);
        }

        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string variable, string? value) in options.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(variable);
            }
            else
            {
                info.Environment[variable] = value;
            }
        }

        return new ChildProcess(info, options);
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/> arguments</c>, as a user runs a framework-dependent app.</summary>
    /// <param name="dll">The app's dll; it must exist.</param>
    /// <param name="arguments">The app's arguments.</param>
    /// <param name="options">Name, working directory, environment; defaults when null.</param>
    /// <returns>The running child.</returns>
    /// <exception cref="FileNotFoundException">The dll is not there (its project was not built).</exception>
    public static ChildProcess StartDotnet(string dll, IEnumerable<string> arguments, ChildProcessOptions? options = null)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build its project first (in the configuration this process runs in).", dll);
        }

        return Start("dotnet", [dll, .. arguments], options);
    }

    /// <summary>Starts this executable again, the way it was started: its apphost directly, or <c>dotnet &lt;entry dll&gt;</c>.</summary>
    /// <param name="arguments">The arguments for the new instance.</param>
    /// <param name="options">Name, working directory, environment; defaults when null.</param>
    /// <returns>The running child.</returns>
    public static ChildProcess StartSelf(IEnumerable<string> arguments, ChildProcessOptions? options = null)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("This process has no path to start again.");
        return Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? Start(self, [Assembly.GetEntryAssembly()!.Location, .. arguments], options)
            : Start(self, arguments, options);
    }

    /// <summary>The next line of standard output; null once the child closed it (it exited).</summary>
    /// <param name="timeout">How long to wait for the line.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The line, or null at the end of the output.</returns>
    /// <exception cref="TimeoutException">No line within <paramref name="timeout"/>; the message has the child's standard error.</exception>
    public async Task<string?> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await _lines.Reader.WaitToReadAsync(deadline.Token).ConfigureAwait(false) && _lines.Reader.TryRead(out string? line) ? line : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(await DescribeAsync($"printed no line within {Seconds(timeout)}").ConfigureAwait(false));
        }
    }

    /// <summary>Reads standard output until a line equal to <paramref name="line"/>; earlier lines are skipped.</summary>
    /// <param name="line">The line to wait for.</param>
    /// <param name="timeout">How long to wait for it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the line was read.</returns>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The child exited first.</exception>
    public Task<string> WaitForLineAsync(string line, TimeSpan timeout, CancellationToken cancellationToken = default)
        => WaitForLineAsync(l => l == line, $"'{line}'", timeout, cancellationToken);

    /// <summary>Reads standard output until a line that starts with <paramref name="prefix"/>, and returns it; earlier lines are skipped.</summary>
    /// <param name="prefix">The start of the line to wait for.</param>
    /// <param name="timeout">How long to wait for it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The whole line.</returns>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The child exited first.</exception>
    public Task<string> WaitForLineStartingWithAsync(string prefix, TimeSpan timeout, CancellationToken cancellationToken = default)
        => WaitForLineAsync(l => l.StartsWith(prefix, StringComparison.Ordinal), $"a line starting with '{prefix}'", timeout, cancellationToken);

    /// <summary>Reads standard output until a line that <paramref name="pattern"/> matches, and returns the match; earlier lines are skipped.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <param name="timeout">How long to wait for it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The successful match (its groups).</returns>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The child exited first.</exception>
    public async Task<Match> WaitForMatchAsync(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        string line = await WaitForLineAsync(pattern.IsMatch, $"/{pattern}/", timeout, cancellationToken).ConfigureAwait(false);
        return pattern.Match(line);
    }

    /// <summary>Reads standard output until a line <paramref name="predicate"/> accepts, and returns it; earlier lines are skipped.</summary>
    /// <param name="predicate">Called with each line in turn.</param>
    /// <param name="description">What is awaited, for the failure message ("'READY'", "the worker's ready line").</param>
    /// <param name="timeout">How long to wait for it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The line.</returns>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>; the message has the child's standard error.</exception>
    /// <exception cref="InvalidOperationException">The child exited (closed its output) first; the message has its exit code and standard error.</exception>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, string description, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await foreach (string line in _lines.Reader.ReadAllAsync(deadline.Token).ConfigureAwait(false))
            {
                if (predicate(line))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(await DescribeAsync($"did not print {description} within {Seconds(timeout)}").ConfigureAwait(false));
        }

        // The end of its output comes a moment before its exit is seen: wait for that, for its exit code.
        using (var exit = new CancellationTokenSource(StreamsWait))
        {
            await _process.WaitForExitAsync(exit.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        string why = _process.HasExited ? $"exited with code {_process.ExitCode}" : "closed its standard output";
        throw new InvalidOperationException(await DescribeAsync($"{why} before it printed {description}").ConfigureAwait(false));
    }

    /// <summary>Writes a line to the child's standard input.</summary>
    /// <param name="line">The line.</param>
    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Writes a line to the child's standard input and returns the next line it prints.</summary>
    /// <param name="line">The line (a request).</param>
    /// <param name="timeout">How long to wait for the answer.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The child exited instead of answering.</exception>
    public async Task<string> AskAsync(string line, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        return await WaitForLineAsync(_ => true, $"an answer to '{line}'", timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the child's standard input: a child reading it to the end sees the end.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits until the child exited and its output was read to the end.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for as long as it runs.</param>
    /// <param name="cancellationToken">Cancels the wait (the child keeps running).</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">Still running after <paramref name="timeout"/> (it keeps running until killed or disposed).</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            // With asynchronous reads, this also waits for both streams to reach their end.
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(await DescribeAsync($"did not exit within {Seconds(timeout)}").ConfigureAwait(false));
        }

        return _process.ExitCode;
    }

    /// <summary>The standard output lines read but not consumed yet, without waiting; after <see cref="WaitForExitAsync"/>, the rest of the output.</summary>
    /// <returns>The lines, oldest first.</returns>
    public IReadOnlyList<string> ReadBufferedLines()
    {
        var lines = new List<string>();
        while (_lines.Reader.TryRead(out string? line))
        {
            lines.Add(line);
        }

        return lines;
    }

    /// <summary>Waits for the child to exit successfully and returns the output lines not consumed yet.</summary>
    /// <param name="timeout">How long to wait for the exit.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The remaining lines, oldest first.</returns>
    /// <exception cref="TimeoutException">Still running after <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">It exited with a code other than 0; the message has its last output lines and its standard error.</exception>
    public async Task<IReadOnlyList<string>> ReadToEndAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        int code = await WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> lines = ReadBufferedLines();
        if (code != 0)
        {
            string output = lines.Count == 0 ? "(empty)" : string.Join(Environment.NewLine, lines.TakeLast(20));
            throw new InvalidOperationException(await DescribeAsync($"exited with code {code}. Its last output: {output}").ConfigureAwait(false));
        }

        return lines;
    }

    /// <summary>
    /// Asks the child to stop (SIGTERM, as a service manager or Ctrl-C would), waits up to <paramref name="grace"/> for it
    /// to exit, then kills it and its children.
    /// </summary>
    /// <param name="grace">How long it may take to shut down.</param>
    /// <returns>True when it exited within <paramref name="grace"/>; false when it had to be killed.</returns>
    public async Task<bool> StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return true;
        }

        if (OperatingSystem.IsWindows())
        {
            Kill();
            return false;
        }

        _ = NativeMethods.Signal(Id, NativeMethods.SigTerm);
        try
        {
            await WaitForExitAsync(grace).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            Kill();
            return false;
        }
    }

    /// <summary>SIGINT, as Ctrl-C in a terminal would send it; does not wait. Nothing on Windows.</summary>
    public void Interrupt()
    {
        if (!OperatingSystem.IsWindows() && !_process.HasExited)
        {
            if (NativeMethods.Signal(Id, NativeMethods.SigInt) != 0)
            {
                throw new InvalidOperationException($"SIGINT to {Name} (pid {Id}) failed: errno {Marshal.GetLastPInvokeError()}.");
            }
        }
    }

    /// <summary>
    /// SIGSTOP: freezes the child. Its sockets stay open and the kernel keeps accepting what clients send, but nothing is
    /// answered until <see cref="Resume"/>. Linux only (the signal numbers are Linux's).
    /// </summary>
    public void Pause() => SendSignal(NativeMethods.SigStop, "SIGSTOP");

    /// <summary>SIGCONT: lets a frozen child go on.</summary>
    public void Resume() => SendSignal(NativeMethods.SigCont, "SIGCONT");

    private void SendSignal(int signal, string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException($"{name} is sent with Linux's signal numbers.");
        }

        if (!_process.HasExited && NativeMethods.Signal(Id, signal) != 0)
        {
            throw new InvalidOperationException($"{name} to {Name} (pid {Id}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>SIGKILL: the child (and, unless <see cref="ChildProcessOptions.KillProcessTree"/> is false, its own children) dies at once, with no chance to clean up; waits until it is gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(_killTree);
            }

            // Reaps it (no zombie); then lets the reader get to the end of its standard error, for the failure messages.
            if (_process.WaitForExit(ExitWait))
            {
                _stderrClosed.Task.Wait(StreamsWait);
            }
        }
        catch (InvalidOperationException)
        {
            // Already disposed, or it exited between the check and the kill.
        }
    }

    /// <summary>Kills the child (and its children) if it still runs, and releases it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        Live.TryRemove(this, out _);
        _lines.Writer.TryComplete();
        _process.Dispose();
    }

    /// <summary>Kills the child (and its children) if it still runs, and releases it.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (pid {Id})";

    private static string Seconds(TimeSpan timeout) => timeout == Timeout.InfiniteTimeSpan
        ? "ever"
        : string.Create(CultureInfo.InvariantCulture, $"{timeout.TotalSeconds:0.###} s");

    /// <summary>"name (pid n) what[, and has exited with code c]. Its standard error: ..." once the last of that error was read.</summary>
    private async Task<string> DescribeAsync(string what)
    {
        string exited = "";
        if (_process.HasExited)
        {
            // A child that just died wrote why on its standard error; let the reader get to the end of it.
            await Task.WhenAny(_stderrClosed.Task, Task.Delay(StreamsWait)).ConfigureAwait(false);
            exited = what.StartsWith("exited", StringComparison.Ordinal) ? "" : $" (it exited with code {_process.ExitCode})";
        }

        string errors = StandardError;
        return $"{this} {what}{exited}. Its standard error: {(errors.Length == 0 ? "(empty)" : Environment.NewLine + errors)}";
    }

    private static class NativeMethods
    {
        public const int SigInt = 2;
        public const int SigTerm = 15;
        public const int SigCont = 18;
        public const int SigStop = 19;

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Signal(int pid, int signal);
    }
}
