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
        var (web1, web2) = (ServerProcess.FreePort(), ServerProcess.FreePort());
        var options = new ChildProcessOptions
        {
            DefaultSigint = true,
            Environment =
            {
                ["REDIS_PORT"] = ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["UPSTREAM_PORT"] = ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["WEB1_PORT"] = web1.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["WEB2_PORT"] = web2.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["DELAY_SCALE"] = "0.02",
                ["LOG_DIR"] = logs.FullName,
            },
        };

        ChildProcess process = ChildProcess.Start("bash", [script], options);
        var output = new List<string>();
        try
        {
            // Bounded: a build that has nothing to do and five processes starting.
            string pidsLine;
            try
            {
                pidsLine = await process.WaitForLineAsync(
                    line =>
                    {
                        output.Add(line);
                        return line.StartsWith("  pids:", StringComparison.Ordinal);
                    },
                    "its pids line",
                    TimeSpan.FromMinutes(4));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                Assert.Fail($"the script never printed its URLs: {e.Message}\nIts output:\n{string.Join('\n', output)}");
                throw;
            }

            var pids = Pids().Matches(pidsLine).Select(m => int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(5, pids.Count); // redis, upstream, two web instances, worker
            Assert.Contains($"http://127.0.0.1:{web1}/", string.Join('\n', output));
            Assert.Contains($"http://127.0.0.1:{web2}/", string.Join('\n', output));

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var first1 = await http.GetAsync(new Uri($"http://127.0.0.1:{web1}/packages/bash"));
            using var then2 = await http.GetAsync(new Uri($"http://127.0.0.1:{web2}/packages/bash"));
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first1.StatusCode, then2.StatusCode));
            Assert.Equal("miss", first1.Headers.GetValues("X-Cache").Single());
            Assert.Equal("hit", then2.Headers.GetValues("X-Cache").Single()); // the other instance's value, through redis

            process.Interrupt();

            Assert.Equal(130, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            output.AddRange(process.ReadBufferedLines());
            Assert.All(pids, pid => Assert.False(IsRunning(pid), $"child {pid} is still running after Ctrl-C:\n{string.Join('\n', output)}\n{process.StandardError}"));
        }
        finally
        {
            // The script and everything it started, before their log folder.
            process.Dispose();
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
