using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dogpile.Redis;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Dogpile.DistributedBenchmarks;

/// <summary>Scenario 6: refresh jobs through the Redis queue and one worker (<see cref="DogpileRedis.CreateWorker"/>).</summary>
internal static partial class Sections
{
    private const int QueueJobs = 2_000;
    private const int WorkerConcurrency = 4;

    public static async Task<string> QueueAsync(string redis)
    {
        await using ConnectionMultiplexer mux = await Peers.ConnectAsync(redis);
        string run = Guid.NewGuid().ToString("N")[..6];
        await using var dogpile = Peers.DogpileRedis(mux, "bench-queue-" + run, queue: "refresh-" + run);
        var options = new CacheRegionOptions { Name = "queue", Expiration = TimeSpan.FromSeconds(1), StaleWindow = TimeSpan.FromMinutes(10), BackgroundRefresh = true };
        dogpile.ApplyTo(options, useRefreshQueue: true);
        await using var region = new CacheRegion(options);

        bool measuring = false;
        var enqueuedAt = new double[QueueJobs];
        var refreshedAt = new ConcurrentDictionary<int, double>();
        CachedFunction<int, Payload> function = region.CreateFunction<int, Payload>("payload", (id, _) =>
        {
            if (Volatile.Read(ref measuring))
            {
                refreshedAt.TryAdd(id, Clock.NowUnixMs());
            }

            return new ValueTask<Payload>(Peers.NewPayload(id));
        });

        // Seed (the creator runs in process on a miss), then let every entry go stale.
        await Parallel.ForEachAsync(Enumerable.Range(0, QueueJobs), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) => _ = await function.InvokeAsync(id, ct));
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        using BackgroundService worker = dogpile.CreateWorker(name => name == region.Name ? region : null, new RedisRefreshWorkerOptions { MaxConcurrency = WorkerConcurrency, PollInterval = TimeSpan.FromMilliseconds(100) });
        await worker.StartAsync(CancellationToken.None);
        Volatile.Write(ref measuring, true);

        // Each stale read returns the stale value at once and enqueues that key's refresh as a job.
        var watch = Stopwatch.StartNew();
        double start = Clock.NowUnixMs();
        await Parallel.ForEachAsync(Enumerable.Range(0, QueueJobs), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
        {
            enqueuedAt[id] = Clock.NowUnixMs();
            _ = await function.InvokeAsync(id, ct);
        });
        double enqueueSeconds = watch.Elapsed.TotalSeconds;

        RedisQueueSnapshot snapshot = await dogpile.GetQueueSnapshotAsync();
        while (watch.Elapsed < TimeSpan.FromSeconds(25))
        {
            snapshot = await dogpile.GetQueueSnapshotAsync();
            if (refreshedAt.Count >= QueueJobs && snapshot.Length == 0)
            {
                break;
            }

            await Task.Delay(20);
        }

        double drainSeconds = watch.Elapsed.TotalSeconds;
        await worker.StopAsync(CancellationToken.None);
        var lag = new Latencies();
        foreach ((int id, double at) in refreshedAt)
        {
            lag.RecordMs(at - enqueuedAt[id]);
        }

        double last = refreshedAt.IsEmpty ? start : refreshedAt.Values.Max();
        double jobsPerSecond = refreshedAt.Count / ((last - start) / 1000.0);
        Console.WriteLine($"   {refreshedAt.Count} jobs, {jobsPerSecond:N0} jobs/s, lag p50 {lag.P(50):F1} ms p99 {lag.P(99):F1} ms, queue length {snapshot.Length}, dead {snapshot.DeadLetterLength}");
        return string.Create(CultureInfo.InvariantCulture, $"""
            ## 6. Queue mode: refresh jobs through Redis

            {Fmt.N(QueueJobs)} keys of a registered cached function (`CreateFunction`, trivial creator) are seeded, go stale (`Expiration` 1 s),
            and are then read by 16 parallel callers: each read returns the stale value at once and enqueues the key's refresh
            (`DogpileRedis.RefreshQueue`: pending marker + `XADD` + `PUBLISH` in one script; the key's lock travels with the job).
            One worker (`DogpileRedis.CreateWorker`) in the same process (`MaxConcurrency` {WorkerConcurrency}, `PollInterval` 100 ms) runs the jobs. Lag is
            from the reader's call (enqueue) to the creator's run on the worker; the value write and `XACK`/`XDEL` follow it
            within the same job. Throughput is jobs run / time from the first enqueue to the last run.

            * {Peers.DogpileRedisConfig}; queue on the same multiplexer.

            | Jobs run | Enqueue phase s | Jobs/s | Lag p50 ms | Lag p99 ms | Lag p99.9 ms | Lag max ms | Left in stream | Dead-lettered |
            | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
            | {Fmt.N(refreshedAt.Count)} | {enqueueSeconds:F2} | {Fmt.N(jobsPerSecond)} | {Fmt.Ms(lag.P(50))} | {Fmt.Ms(lag.P(99))} | {Fmt.Ms(lag.P(99.9))} | {Fmt.Ms(lag.Max)} | {snapshot.Length} | {snapshot.DeadLetterLength} |

            **Verdict:** no peer has a durable refresh queue to compare with (FusionCache's eager refresh and HybridCache
            run refreshes in the calling process), so there is no ratio here. {(refreshedAt.Count == QueueJobs ? "Every job ran once" : $"**Only {refreshedAt.Count} of {QueueJobs} jobs ran within 25 s**")};
            the lag is dominated by the backlog (the enqueue phase outruns {WorkerConcurrency} concurrent jobs), so p50 measures the queue
            depth, not the per-job overhead — with Redis, the worker and the readers all on 2 shared cores.


            """);
    }
}
