using System.Globalization;
using System.Text;
using System.Text.Json;
using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>
/// The point of the memcached lock: separate OS processes, each with its own in-process coordination, still run one
/// creator in total for a cold key.
/// </summary>
public sealed class CrossProcessStampedeTests(MemcachedServer server) : IClassFixture<MemcachedServer>
{
    private const int Processes = 4;
    private const int CallersPerProcess = 100;

    [Fact]
    public async Task FourProcessesTimesHundredCallers_OnOneColdKey_RunOneCreatorInTotal()
    {
        string dll = StampedeClientPath();
        string key = $"stampede-{Guid.NewGuid():N}";
        // Far enough ahead for every process to start and warm up on a busy two-core machine; each reports its margin.
        long startAt = DateTimeOffset.UtcNow.AddSeconds(8).ToUnixTimeMilliseconds();

        Task<string>[] runs = Enumerable.Range(0, Processes)
            .Select(_ => RunAsync(dll, server.Endpoint, key, CallersPerProcess.ToString(CultureInfo.InvariantCulture), startAt.ToString(CultureInfo.InvariantCulture)))
            .ToArray();
        string[] outputs = await Task.WhenAll(runs);

        var reports = outputs.Select(o => JsonDocument.Parse(o).RootElement).ToArray();
        string summary = string.Join(Environment.NewLine, outputs);
        Assert.All(reports, r => Assert.Empty(r.GetProperty("errors").EnumerateArray()));
        Assert.All(reports, r => Assert.True(
            r.GetProperty("readyBeforeStartMs").GetInt64() > 0,
            $"every process must be ready before the synchronized start; reports:{Environment.NewLine}{summary}"));
        Assert.Equal(1, reports.Sum(r => r.GetProperty("creatorCalls").GetInt32()));

        using var backend = new MemcachedCacheBackend(new MemcachedClientOptions { Servers = { server.Endpoint } });
        var counter = await backend.Client.GetAsync(key + ":creations");
        Assert.Equal("1", Encoding.ASCII.GetString(counter.Value.Span).Trim());

        string[] values = reports.SelectMany(r => r.GetProperty("values").EnumerateArray().Select(v => v.GetString()!)).Distinct().ToArray();
        Assert.Single(values);
        Assert.StartsWith("created-by-", values[0], StringComparison.Ordinal);
        Assert.Equal(Processes * CallersPerProcess, reports.Sum(r => r.GetProperty("callers").GetInt32()));
    }

    private static async Task<string> RunAsync(string dll, params string[] args)
    {
        using ChildProcess client = ChildProcess.StartDotnet(dll, args, new() { Name = "The stampede client" });
        string output = string.Join(Environment.NewLine, await client.ReadToEndAsync(TimeSpan.FromSeconds(60))).Trim();
        Assert.True(output.Length > 0, $"The stampede client printed nothing. stderr: {client.StandardError}");
        return output;
    }

    /// <summary>The client's build output, next to this test project's (same configuration and framework).</summary>
    private static string StampedeClientPath()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = bin.Name, configuration = bin.Parent!.Name;
        string testsRoot = bin.Parent.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(testsRoot, "Dogpile.Memcached.StampedeClient", "bin", configuration, framework, "Dogpile.Memcached.StampedeClient.dll");
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException(
                $"The stampede client is not built at {dll}. Build the test project (it references the client project), then rerun.");
    }
}
