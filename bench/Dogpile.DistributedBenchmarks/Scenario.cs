using System.Diagnostics;
using System.Globalization;
using Dogpile.Testing;

namespace Dogpile.DistributedBenchmarks;

/// <summary>The scenarios by name, and running one of them, in this process or in a child process of its own.</summary>
internal static class Scenario
{
    /// <summary>Every scenario, in run order (the priority order: the most important results land first).</summary>
    public static readonly string[] All = ["stampede-redis", "hits", "near", "connections", "stampede-memcached", "queue", "killed", "outage"];

    // The doc's numbering.
    private static readonly string[] s_docOrder = ["stampede-redis", "stampede-memcached", "killed", "hits", "connections", "queue", "near", "outage"];

    public static int DocOrder(string scenario) => Array.IndexOf(s_docOrder, scenario);

    /// <summary>Runs one scenario here; writes its section to <paramref name="part"/> and its targets next to it.</summary>
    public static async Task<int> RunOneAsync(string redis, string memcached, string part, string scenario)
    {
        var watch = Stopwatch.StartNew();
        Console.WriteLine($"== {scenario}");
        int exit = 0;
        string section;
        try
        {
            section = scenario switch
            {
                "stampede-redis" => await Sections.StampedeRedisAsync(redis),
                "hits" => await Sections.HitsAsync(redis, memcached),
                "near" => await Sections.NearAsync(redis),
                "connections" => await Sections.ConnectionsAsync(redis, memcached),
                "stampede-memcached" => await Sections.StampedeMemcachedAsync(memcached),
                "queue" => await Sections.QueueAsync(redis),
                "killed" => await Sections.KilledAsync(redis, memcached),
                "outage" => await Outage.RedisKilledAsync(),
                _ => throw new ArgumentException($"unknown scenario '{scenario}'; known: {string.Join(", ", All)}"),
            };
        }
        catch (Exception ex)
        {
            // A scenario that breaks is reported as broken, and the others still run.
            section = string.Create(CultureInfo.InvariantCulture, $"## {scenario}\n\n**Failed to run:** `{ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}`\n\n");
            Console.Error.WriteLine(ex);
            exit = 1;
        }

        await File.WriteAllTextAsync(part, section);
        await Targets.WriteAsync(part + ".targets");
        Console.WriteLine($"   {scenario} took {watch.Elapsed.TotalSeconds:F1} s");
        return exit;
    }

    /// <summary>Runs one scenario in a child process (the same executable), its output on this console.</summary>
    public static async Task<int> RunInChildAsync(string redis, string memcached, string part, string scenario)
    {
        using ChildProcess child = ChildProcess.StartSelf(["scenario", redis, memcached, part, scenario], new ChildProcessOptions { Name = "scenario " + scenario, EchoOutput = true });
        return await child.WaitForExitAsync(Timeout.InfiniteTimeSpan);
    }
}
