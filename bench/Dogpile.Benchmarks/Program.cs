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
        // Short jobs: the whole suite must finish in a few minutes on a shared 2-core box. Each benchmark runs in
        // its own process by default, so the JIT's profile of shared generic code (ConcurrentDictionary<string, object>)
        // is not shaped by the benchmarks that ran before it; --in-process trades that isolation for speed.
        // The numbers are for comparison within one run, not absolute.
        bool inProcess = args.Contains("--in-process");
        args = args.Where(a => a != "--in-process").ToArray();
        Job job = Job.Default;
        if (inProcess)
        {
            job = job.WithToolchain(InProcessEmitToolchain.Instance);
        }

        IConfig config = DefaultConfig.Instance
            .AddJob(job
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
