using Dogpile;
using Packages.Web.Caching;
using Packages.Web.Upstream;

namespace Packages.Web.Metrics;

/// <summary>One second of the app's life, as the status dashboard charts it.</summary>
/// <param name="At">When the second ended.</param>
/// <param name="Requests">Requests answered in it (pages and API; not the dashboard's own polling).</param>
/// <param name="UpstreamCalls">Requests this process sent to the bug tracker in it.</param>
/// <param name="P50Ms">Median request latency, ms (0 when no request).</param>
/// <param name="P99Ms">99th-percentile request latency, ms.</param>
/// <param name="Hits">Fresh values served, all regions.</param>
/// <param name="Stale">Stale values served.</param>
/// <param name="Misses">Misses (waited for a creator).</param>
/// <param name="QueueDepth">Refresh jobs waiting: the durable queue's length, or the in-process runner's backlog and running refreshes.</param>
/// <param name="DeadLetters">Jobs in the dead-letter stream (durable queue only).</param>
/// <param name="BackendUp">Whether the cache backend answered the probe.</param>
/// <param name="BackendProbeMs">How long the probe took, ms.</param>
/// <param name="NearCache">How far the bugs region's near cache is trusted (off with the embedded memory backend).</param>
/// <param name="NearEntries">Entries that near cache holds.</param>
public sealed record DashboardSample(
    DateTimeOffset At, long Requests, long UpstreamCalls, double P50Ms, double P99Ms, long Hits, long Stale, long Misses,
    long QueueDepth, long DeadLetters, bool BackendUp, double BackendProbeMs, NearCacheState NearCache = NearCacheState.Off, long NearEntries = 0);

/// <summary>Counts and times the requests the dashboard reports; the middleware feeds it.</summary>
public sealed class RequestRecorder
{
    // One interval's latencies; a burst beyond this is still counted, only not timed.
    private const int MaxTimedPerInterval = 100_000;

    private readonly Lock _gate = new();
    private List<double> _latencies = new(1024);
    private long _requests;

    /// <summary>Requests counted since the start.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Records one finished request.</summary>
    /// <param name="elapsed">How long it took.</param>
    public void Record(TimeSpan elapsed)
    {
        Interlocked.Increment(ref _requests);
        lock (_gate)
        {
            if (_latencies.Count < MaxTimedPerInterval)
            {
                _latencies.Add(elapsed.TotalMilliseconds);
            }
        }
    }

    /// <summary>The latencies recorded since the last call, sorted.</summary>
    public List<double> TakeInterval()
    {
        List<double> taken;
        lock (_gate)
        {
            taken = _latencies;
            _latencies = new List<double>(Math.Max(16, taken.Count));
        }

        taken.Sort();
        return taken;
    }

    /// <summary>Whether the dashboard counts this path: its own pages, metrics and probes are left out.</summary>
    public static bool Counts(PathString path) =>
        !path.StartsWithSegments("/status", StringComparison.Ordinal)
        && !path.StartsWithSegments("/api/status", StringComparison.Ordinal)
        && !path.StartsWithSegments("/metrics", StringComparison.Ordinal)
        && !path.StartsWithSegments("/healthz", StringComparison.Ordinal);
}

/// <summary>Samples the app once a second and keeps the last two minutes for the status dashboard's charts.</summary>
internal sealed partial class DashboardSampler(
    RequestRecorder requests,
    UpstreamClient upstream,
    ICacheRegionProvider regions,
    IEnumerable<IRefreshQueueDepth> queues,
    TimeProvider time,
    ILogger<DashboardSampler> logger) : BackgroundService
{
    /// <summary>Samples kept: two minutes at one a second.</summary>
    public const int Capacity = 120;

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private const string ProbeKey = "dogpile-showcase:health-probe";

    private readonly Lock _gate = new();
    private readonly Queue<DashboardSample> _samples = new(Capacity);
    private Totals _last;

    /// <summary>The kept samples, oldest first.</summary>
    public IReadOnlyList<DashboardSample> Samples
    {
        get
        {
            lock (_gate)
            {
                return [.. _samples];
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _last = Read();
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SampleAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A failed probe must not stop the dashboard: the next second tries again.
                    LogSampleFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        var now = Read();
        var latencies = requests.TakeInterval();
        long depth = 0, dead = 0;
        var durable = false;
        foreach (var queue in queues)
        {
            durable = true;
            try
            {
                depth += await queue.GetDepthAsync(cancellationToken);
                dead += await queue.GetDeadLettersAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSampleFailed(logger, ex);
            }
        }

        if (!durable)
        {
            depth = now.InProcessQueue;
        }

        var (up, probeMs) = await ProbeAsync(cancellationToken);
        var bugs = regions.GetRegion(CacheSetup.BugsRegion).GetStatistics();
        var sample = new DashboardSample(
            time.GetUtcNow(),
            now.Requests - _last.Requests,
            now.UpstreamCalls - _last.UpstreamCalls,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            now.Hits - _last.Hits,
            now.Stale - _last.Stale,
            now.Misses - _last.Misses,
            depth,
            dead,
            up,
            probeMs,
            bugs.NearCache,
            bugs.NearCacheEntries);
        _last = now;
        lock (_gate)
        {
            if (_samples.Count == Capacity)
            {
                _samples.Dequeue();
            }

            _samples.Enqueue(sample);
        }
    }

    /// <summary>Reads a key that is never written from the first region's backend: the round trip says whether the store answers.</summary>
    private async Task<(bool Up, double Ms)> ProbeAsync(CancellationToken cancellationToken)
    {
        var start = time.GetTimestamp();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await regions.GetRegion(CacheSetup.BugsRegion).Backend.GetAsync(ProbeKey, timeout.Token);
            return (true, time.GetElapsedTime(start).TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogProbeFailed(logger, ex.GetType().Name);
            return (false, time.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    private Totals Read()
    {
        long hits = 0, stale = 0, misses = 0, inProcess = 0;
        foreach (var name in regions.RegionNames)
        {
            var s = regions.GetRegion(name).GetStatistics();
            hits += s.Hits;
            stale += s.StaleServed;
            misses += s.Misses;
            inProcess += s.RefreshesQueued + s.RefreshesRunning;
        }

        return new Totals(requests.Requests, upstream.Calls, hits, stale, misses, inProcess);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "The status dashboard could not take a sample")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "The cache backend did not answer the dashboard's probe ({ErrorType})")]
    private static partial void LogProbeFailed(ILogger logger, string errorType);

    private readonly record struct Totals(long Requests, long UpstreamCalls, long Hits, long Stale, long Misses, long InProcessQueue);
}

/// <summary>Feeds <see cref="RequestRecorder"/>.</summary>
internal static class RequestRecorderMiddleware
{
    public static IApplicationBuilder UseRequestRecorder(this IApplicationBuilder app)
    {
        var recorder = app.ApplicationServices.GetRequiredService<RequestRecorder>();
        var time = app.ApplicationServices.GetRequiredService<TimeProvider>();
        return app.Use(async (context, next) =>
        {
            if (!RequestRecorder.Counts(context.Request.Path))
            {
                await next(context);
                return;
            }

            var start = time.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                recorder.Record(time.GetElapsedTime(start));
            }
        });
    }
}
