using System.Text.RegularExpressions;
using Dogpile.Testing;
using Packages.Web;

namespace Packages.Tests;

/// <summary>A Packages.Web or Packages.Worker child process, started as a user would and killed (SIGKILL) on dispose.</summary>
internal sealed partial class AppProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(90);

    private readonly ChildProcess _process;

    private AppProcess(ChildProcess process, Uri? address, Uri? upstreamAddress)
    {
        _process = process;
        Address = address;
        UpstreamAddress = upstreamAddress;
    }

    /// <summary>The web app's address; null for the worker.</summary>
    public Uri? Address { get; }

    /// <summary>The bug tracker the web app talks to (its embedded simulator unless one was given); null for the worker.</summary>
    public Uri? UpstreamAddress { get; }

    private static string WebDll => typeof(PackagesWebApp).Assembly.Location;

    public static Task<AppProcess> StartWebAsync(params string[] args)
        => StartAsync(WebDll, WebReady(), ["--urls", "http://127.0.0.1:0", .. args]);

    public static Task<AppProcess> StartWorkerAsync(params string[] args)
        => StartAsync(Path.Combine(Path.GetDirectoryName(WebDll)!, "Packages.Worker.dll"), WorkerReady(), args);

    /// <summary>How a user runs the web app (<c>dotnet Packages.Web.dll args</c>), for tests that watch the process themselves.</summary>
    public static ChildProcess StartWeb(params string[] args) => Start(WebDll, args);

    private static ChildProcess Start(string dll, string[] args)
    {
        // The test project references the apps, so their dlls, deps and runtimeconfigs sit next to ours.
        return ChildProcess.StartDotnet(dll, args, new ChildProcessOptions
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            Environment = { ["Logging__LogLevel__Default"] = "Warning" },
        });
    }

    private static async Task<AppProcess> StartAsync(string dll, Regex ready, string[] args)
    {
        ChildProcess process = Start(dll, args);
        try
        {
            Uri? address = null;
            string line = await process.WaitForLineAsync(
                l =>
                {
                    if (OpenLine().Match(l) is { Success: true } open)
                    {
                        address = new Uri(open.Groups[1].Value);
                    }

                    return ready.IsMatch(l);
                },
                $"its ready line /{ready}/",
                ReadyWithin);
            Match match = ready.Match(line);
            return new AppProcess(process, address, match.Groups.Count > 1 && match.Groups[1].Success ? new Uri(match.Groups[1].Value) : null);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no graceful shutdown, no acknowledgement, no lock release.</summary>
    public void Kill() => _process.Kill();

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [GeneratedRegex(@"^Dogpile packages app: open (http://127\.0\.0\.1:\d+/)$")]
    private static partial Regex OpenLine();

    // Printed right after the open line: the app is ready, and this is its tracker.
    [GeneratedRegex(@"^Bug tracker(?: simulator \(embedded\))?: (http://\S+)$")]
    private static partial Regex WebReady();

    [GeneratedRegex(@"^Dogpile packages worker .*draining the refresh queue")]
    private static partial Regex WorkerReady();
}
