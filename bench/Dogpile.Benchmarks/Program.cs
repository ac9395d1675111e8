using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Dogpile.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        // Short in-process runs: the whole suite must finish in a few minutes on a shared 2-core box.
        // In-process also keeps BenchmarkDotNet from generating and building a project under our
        // warnings-as-errors rules. The numbers are for comparison within one run, not absolute.
        IConfig config = DefaultConfig.Instance
            .AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithLaunchCount(1)
                .WithWarmupCount(3)
                .WithIterationCount(7)
                .WithIterationTime(TimeInterval.FromMilliseconds(250))
                .WithId("Short"))
            .AddExporter(JsonExporter.Brief)
            .WithOptions(ConfigOptions.DisableLogFile);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}
