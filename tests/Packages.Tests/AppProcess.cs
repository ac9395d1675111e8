using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Packages.Web;

namespace Packages.Tests;

/// <summary>A Packages.Web or Packages.Worker child process, started as a user would and killed (SIGKILL) on dispose.</summary>
internal sealed partial class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors;

    private AppProcess(Process process, StringBuilder errors, Uri? address, Uri? upstreamAddress)
    {
        _process = process;
        _errors = errors;
        Address = address;
        UpstreamAddress = upstreamAddress;
    }

    /// <summary>The web app's address; null for the worker.</summary>
    public Uri? Address { get; }

    /// <summary>The bug tracker the web app talks to (its embedded simulator unless one was given); null for the worker.</summary>
    public Uri? UpstreamAddress { get; }

    private static string WebDll => typeof(PackagesWebApp).Assembly.Location;

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public static Task<AppProcess> StartWebAsync(params string[] args)
        => StartAsync(WebDll, WebReady(), ["--urls", "http://127.0.0.1:0", .. args]);

    public static Task<AppProcess> StartWorkerAsync(params string[] args)
        => StartAsync(Path.Combine(Path.GetDirectoryName(WebDll)!, "Packages.Worker.dll"), WorkerReady(), args);

    /// <summary>How a user runs the web app (<c>dotnet Packages.Web.dll args</c>), for tests that watch the process themselves.</summary>
    public static ProcessStartInfo WebStartInfo(params string[] args) => StartInfo(WebDll, args);

    private static ProcessStartInfo StartInfo(string dll, string[] args)
    {
        // The test project references the apps, so their dlls, deps and runtimeconfigs sit next to ours.
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["Logging__LogLevel__Default"] = "Warning";
        return info;
    }

    private static async Task<AppProcess> StartAsync(string dll, Regex ready, string[] args)
    {
        var process = Process.Start(StartInfo(dll, args))!;
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            Uri? address = null;
            while (true)
            {
                string line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"{Path.GetFileName(dll)} exited ({process.ExitCode}) before it was ready: {errors}");
                if (OpenLine().Match(line) is { Success: true } open)
                {
                    address = new Uri(open.Groups[1].Value);
                }
                else if (ready.Match(line) is { Success: true } match)
                {
                    // Keep draining stdout so the child never blocks on a full pipe.
                    _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                    return new AppProcess(process, errors, address, match.Groups.Count > 1 && match.Groups[1].Success ? new Uri(match.Groups[1].Value) : null);
                }
            }
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no graceful shutdown, no acknowledgement, no lock release.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"^Dogpile packages app: open (http://127\.0\.0\.1:\d+/)$")]
    private static partial Regex OpenLine();

    // Printed right after the open line: the app is ready, and this is its tracker.
    [GeneratedRegex(@"^Bug tracker(?: simulator \(embedded\))?: (http://\S+)$")]
    private static partial Regex WebReady();

    [GeneratedRegex(@"^Dogpile packages worker .*draining the refresh queue")]
    private static partial Regex WorkerReady();
}
