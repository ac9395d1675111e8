using System.Globalization;
using System.Reflection;
using Dogpile.Scenarios.Harness;
using Dogpile.Scenarios.Report;

namespace Dogpile.Scenarios;

/// <summary>
/// Runs the scenarios and prints their markdown; with <c>--doc</c>, also writes the whole benchmarks document
/// (machine, versions, configurations, the BenchmarkDotNet tables from <c>--micro</c>, then the scenarios).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string? filter = Arg(args, "--filter");
        string? microDir = Arg(args, "--micro");
        string? docPath = Arg(args, "--doc");
        string? sdk = Arg(args, "--sdk");
        string? distributed = Arg(args, "--distributed");
        string repoRoot = Arg(args, "--repo") ?? Directory.GetCurrentDirectory();
        double timeScale = double.Parse(Arg(args, "--time-scale") ?? "1", CultureInfo.InvariantCulture);

        List<IScenario> scenarios = Discover()
            .Where(s => filter is null || filter.Split(',').Any(f => s.Id.Equals(f, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(s => s.Kind).ThenBy(s => s.Order)
            .ToList();
        if (args.Contains("--list"))
        {
            foreach (IScenario s in scenarios)
            {
                Console.WriteLine($"{s.Id,-12} {s.Kind,-12} {s.Title}");
            }

            return 0;
        }

        // Dedicated load threads block; the creators' continuations must not wait for the pool to grow.
        ThreadPool.SetMinThreads(Math.Max(32, Environment.ProcessorCount * 4), Math.Max(32, Environment.ProcessorCount * 4));
        var context = new ScenarioContext { TimeScale = timeScale };
        var results = new List<(IScenario Scenario, ScenarioResult Result)>();
        foreach (IScenario scenario in scenarios)
        {
            Console.Error.WriteLine($"scenario {scenario.Id}...");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            ScenarioResult result = await scenario.RunAsync(context, cts.Token).ConfigureAwait(false);
            Console.Error.WriteLine($"scenario {scenario.Id} took {watch.Elapsed.TotalSeconds:0.0} s");
            Console.WriteLine(result.ToMarkdown());
            results.Add((scenario, result));
            GC.Collect();
        }

        if (docPath is not null)
        {
            File.WriteAllText(docPath, DocWriter.Render(results.Select(r => r.Result).ToList(), microDir, sdk, repoRoot, distributed));
            Console.Error.WriteLine($"wrote {docPath}");
        }

        return 0;
    }

    private static IEnumerable<IScenario> Discover()
        => Assembly.GetExecutingAssembly().GetTypes()
            .Where(t => typeof(IScenario).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false } && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (IScenario)Activator.CreateInstance(t)!);

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
