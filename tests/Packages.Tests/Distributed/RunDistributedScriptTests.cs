using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Dogpile.Testing;

namespace Packages.Tests.Distributed;

/// <summary>samples/run-distributed.sh as the README tells people to run it: it comes up, both instances share the cache, and Ctrl-C leaves nothing behind.</summary>
[Collection(nameof(DistributedShowcase))]
public sealed partial class RunDistributedScriptTests
{
    [Fact]
    public async Task Script_StartsEverything_BothInstancesShareTheCache_AndSigintStopsEveryChild()
    {
        var script = Path.Combine(RepositoryRoot(), "samples", "run-distributed.sh");
        var logs = Directory.CreateTempSubdirectory("dogpile-run-distributed-test");
        var start = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var (web1, web2) = (ServerProcess.FreePort(), ServerProcess.FreePort());
        start.Environment["REDIS_PORT"] = ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["UPSTREAM_PORT"] = ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["WEB1_PORT"] = web1.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["WEB2_PORT"] = web2.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["DELAY_SCALE"] = "0.02";
        start.Environment["LOG_DIR"] = logs.FullName;

        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var up = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data.StartsWith("  pids:", StringComparison.Ordinal))
            {
                up.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // Bounded: a build that has nothing to do and five processes starting.
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(up.Task, exited, Task.Delay(TimeSpan.FromMinutes(4)));
            Assert.True(first == up.Task, $"the script never printed its URLs:\n{output}");
            var pids = Pids().Matches(await up.Task).Select(m => int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(5, pids.Count); // redis, upstream, two web instances, worker
            Assert.Contains($"http://127.0.0.1:{web1}/", output.ToString());
            Assert.Contains($"http://127.0.0.1:{web2}/", output.ToString());

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var first1 = await http.GetAsync(new Uri($"http://127.0.0.1:{web1}/packages/bash"));
            using var then2 = await http.GetAsync(new Uri($"http://127.0.0.1:{web2}/packages/bash"));
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first1.StatusCode, then2.StatusCode));
            Assert.Equal("miss", first1.Headers.GetValues("X-Cache").Single());
            Assert.Equal("hit", then2.Headers.GetValues("X-Cache").Single()); // the other instance's value, through redis

            using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(stopTimeout.Token);
            Assert.Equal(130, process.ExitCode);
            Assert.All(pids, pid => Assert.False(IsRunning(pid), $"child {pid} is still running after Ctrl-C:\n{output}"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            logs.Delete(recursive: true);
        }
    }

    /// <summary>Alive and not a zombie (an exited child its parent has not reaped yet counts as gone).</summary>
    private static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dogpile.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Dogpile.slnx above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Pids();
}
