using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Packages.Web;

namespace Packages.Tests.Web;

/// <summary>The app as a user runs it: <c>dotnet Packages.Web.dll --urls ...</c> in its own process, with the embedded simulator.</summary>
public sealed partial class ChildProcessTests
{
    [Fact]
    public async Task EmbeddedApp_PrintsItsUrl_AndServesMissThenHit()
    {
        await using var child = await WebProcess.StartAsync("--urls", "http://127.0.0.1:0", "--Upstream:DelayScale", "0.02");
        using var http = new HttpClient { BaseAddress = child.Address, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("ok", await http.GetStringAsync(new Uri("healthz", UriKind.Relative)));
        Assert.Contains("<a href=\"/packages/kernel/bugs\">kernel</a>", await http.GetStringAsync(new Uri("", UriKind.Relative)));

        using var miss = await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative));
        using var hit = await http.GetAsync(new Uri("packages/kernel/bugs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
        Assert.Equal("miss", miss.Headers.GetValues("X-Cache").Single());
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("hit", hit.Headers.GetValues("X-Cache").Single());

        using var tracker = new HttpClient { BaseAddress = child.UpstreamAddress };
        Assert.Contains("\"kernel\":1", await tracker.GetStringAsync(new Uri("stats", UriKind.Relative)));
    }

    [Fact]
    public async Task RedisWithoutConnection_ExitsWithAClearError()
    {
        using var process = Process.Start(WebProcess.StartInfo("--Cache:Backend", "redis"))!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("error: Cache:Connection is required with Cache:Backend redis", await error);
        Assert.DoesNotContain("open http", await output);
    }

    /// <summary>A running <c>Packages.Web</c> child process; disposing kills it.</summary>
    private sealed partial class WebProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private WebProcess(Process process, Uri address, Uri upstream)
        {
            _process = process;
            Address = address;
            UpstreamAddress = upstream;
        }

        public Uri Address { get; }

        public Uri UpstreamAddress { get; }

        public static ProcessStartInfo StartInfo(params string[] args)
        {
            // The test project references Packages.Web, so its dll, deps and runtimeconfig sit next to ours.
            var dll = typeof(PackagesWebApp).Assembly.Location;
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(dll)!,
            };
            info.ArgumentList.Add(dll);
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["Logging__LogLevel__Default"] = "Warning";
            return info;
        }

        public static async Task<WebProcess> StartAsync(params string[] args)
        {
            var process = Process.Start(StartInfo(args))!;
            var stderr = new System.Text.StringBuilder();
            process.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
            process.BeginErrorReadLine();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                Uri? address = null;
                while (true)
                {
                    var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                        ?? throw new InvalidOperationException($"Packages.Web exited ({process.ExitCode}) before printing its URL: {stderr}");
                    if (OpenLine().Match(line) is { Success: true } open)
                    {
                        address = new Uri(open.Groups[1].Value);
                    }
                    else if (TrackerLine().Match(line) is { Success: true } tracker && address is not null)
                    {
                        // Keep draining stdout so the child never blocks on a full pipe.
                        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                        return new WebProcess(process, address, new Uri(tracker.Groups[1].Value));
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

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        [GeneratedRegex(@"^Dogpile packages app: open (http://127\.0\.0\.1:\d+/)$")]
        private static partial Regex OpenLine();

        [GeneratedRegex(@"^Bug tracker simulator \(embedded\): (http://127\.0\.0\.1:\d+/)$")]
        private static partial Regex TrackerLine();
    }
}
