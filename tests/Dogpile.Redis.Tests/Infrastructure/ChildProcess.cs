using System.Diagnostics;
using System.Threading.Channels;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>The stampede client (tests/Dogpile.Redis.StampedeClient) run as a separate OS process.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _stderr = [];

    private ChildProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
            }
            else
            {
                _lines.Writer.TryWrite(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.Add(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(ClientPath());
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new ChildProcess(Process.Start(start)!);
    }

    /// <summary>Waits for a line equal to <paramref name="expected"/>; fails with the child's stderr if it exits first.</summary>
    public async Task WaitForLineAsync(string expected, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (string line in _lines.Reader.ReadAllAsync(cts.Token))
            {
                if (line == expected)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        Assert.Fail($"Child {Id} did not print {expected} within {timeout}. stderr: {Stderr()}");
    }

    /// <summary>Sends a line to the child's standard input and returns the next line it prints.</summary>
    public async Task<string> AskAsync(string line, TimeSpan timeout)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Child {Id} did not answer '{line}' within {timeout}. stderr: {Stderr()}");
            throw;
        }
    }

    /// <summary>Reads lines until the child exits, and returns the last one.</summary>
    public async Task<string> LastLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        string? last = null;
        try
        {
            await foreach (string line in _lines.Reader.ReadAllAsync(cts.Token))
            {
                last = line;
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Child {Id} did not finish within {timeout}. stderr: {Stderr()}");
        }

        await _process.WaitForExitAsync(cts.Token);
        Assert.True(_process.ExitCode == 0, $"Child {Id} exited with {_process.ExitCode}. stderr: {Stderr()}");
        return last ?? "";
    }

    /// <summary>SIGKILL: the process dies at once, with no chance to clean up.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return string.Join(Environment.NewLine, _stderr);
        }
    }

    private static string ClientPath()
    {
        // bin/<configuration>/<tfm>/ of this test project, mirrored in the client project's folder.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = output.Name;
        string configuration = output.Parent!.Name;
        DirectoryInfo tests = output.Parent!.Parent!.Parent!.Parent!;
        string path = Path.Combine(tests.FullName, "Dogpile.Redis.StampedeClient", "bin", configuration, tfm, "Dogpile.Redis.StampedeClient.dll");
        Assert.True(File.Exists(path), $"The stampede client was not built at {path}; build tests/Dogpile.Redis.Tests (it references the client project).");
        return path;
    }
}
