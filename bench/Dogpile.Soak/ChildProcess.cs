using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace Dogpile.Soak;

/// <summary>
/// One of the showcase's processes (<c>dotnet X.dll args</c>, from its Release build), its stdout read line by line so
/// the harness can wait for the line that says it listens; killed on dispose. The pid is the app's own (the dotnet
/// host runs the app in its process), so /proc/&lt;pid&gt; describes the app.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Queue<string> _stderr = new();

    private ChildProcess(string name, Process process)
    {
        Name = name;
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
                    // The last lines only: a long soak must not grow the harness's own memory.
                    _stderr.Enqueue(e.Data);
                    if (_stderr.Count > 40)
                    {
                        _stderr.Dequeue();
                    }
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ChildProcess StartDll(string name, string dll, IEnumerable<string> args)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build Release first (bench/soak.sh does).", dll);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Request logs would cost CPU the soak should spend on requests, and fill the pipe we only skim.
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new ChildProcess(name, Process.Start(start)!);
    }

    /// <summary>The first group of the first stdout line matching <paramref name="pattern"/>; earlier lines are skipped.</summary>
    public async Task<string> WaitForAsync(Regex pattern, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (string line in _lines.Reader.ReadAllAsync(cts.Token))
            {
                if (pattern.Match(line) is { Success: true } match)
                {
                    return match.Groups.Count > 1 ? match.Groups[1].Value : line;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        string why = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"did not print /{pattern}/ within {timeout.TotalSeconds:F0} s";
        throw new InvalidOperationException($"{Name} (pid {_process.Id}) {why}; its stderr: {Stderr()}");
    }

    public string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.Count == 0 ? "(empty)" : string.Join(" | ", _stderr);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }

        _process.Dispose();
    }
}
