using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Packages.Web;

namespace Packages.Tests.Distributed;

/// <summary>A Packages.Web or Packages.Worker child process, started as a user would and killed (SIGKILL) on dispose.</summary>
internal sealed partial class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors;

    private AppProcess(Process process, StringBuilder errors, Uri? address)
    {
        _process = process;
        _errors = errors;
        Address = address;
    }

    /// <summary>The web app's address; null for the worker.</summary>
    public Uri? Address { get; }

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
        => StartAsync(typeof(PackagesWebApp).Assembly.Location, WebReady(), ["--urls", "http://127.0.0.1:0", .. args]);

    public static Task<AppProcess> StartWorkerAsync(params string[] args)
        => StartAsync(Path.Combine(Path.GetDirectoryName(typeof(PackagesWebApp).Assembly.Location)!, "Packages.Worker.dll"), WorkerReady(), args);

    private static async Task<AppProcess> StartAsync(string dll, Regex ready, string[] args)
    {
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
        var process = Process.Start(info)!;
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (true)
            {
                string line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"{Path.GetFileName(dll)} exited before it was ready: {errors}");
                if (ready.Match(line) is { Success: true } match)
                {
                    _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                    return new AppProcess(process, errors, match.Groups.Count > 1 && match.Groups[1].Success ? new Uri(match.Groups[1].Value) : null);
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
    private static partial Regex WebReady();

    [GeneratedRegex(@"^Dogpile packages worker .*draining the refresh queue")]
    private static partial Regex WorkerReady();
}
