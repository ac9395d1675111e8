using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Queue;

/// <summary>
/// Traces across the refresh queue, on a real redis-server and a real worker: the job carries the enqueuing request's
/// W3C trace context, and the worker's job span (with the refresh and creation under it) continues that trace.
/// </summary>
public sealed class QueueTracingTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static readonly ActivitySource s_requests = new("Dogpile.Redis.Tests.Requests");

    [Fact]
    public async Task TracedRequestFindsStaleValue_JobCarriesItsTraceContext()
    {
        using var spans = new SpanCollector();
        await using var rig = new QueueRig(server, o => o.QueueName = Unique());
        await rig.MakeStaleAsync("a");

        using (Activity request = s_requests.StartActivity("GET /a")!)
        {
            request.TraceStateString = "vendor=blue";
            Assert.Equal("old", await rig.Fetch.InvokeAsync("a"));
            StreamEntry job = (await (await rig.Redis.DbAsync()).StreamRangeAsync(rig.Keys.Stream)).Single();
            Assert.Equal($"00-{request.TraceId}-{request.SpanId}-01", (string?)job["traceparent"]);
            Assert.Equal("vendor=blue", (string?)job["tracestate"]);
        }
    }

    [Fact]
    public async Task UntracedRequest_JobHasNoTraceFields()
    {
        await using var rig = new QueueRig(server, o => o.QueueName = Unique());
        await rig.MakeStaleAsync("a");
        Activity.Current = null;

        Assert.Equal("old", await rig.Fetch.InvokeAsync("a"));

        StreamEntry job = (await (await rig.Redis.DbAsync()).StreamRangeAsync(rig.Keys.Stream)).Single();
        Assert.DoesNotContain(job.Values, v => v.Name == "traceparent" || v.Name == "tracestate");
    }

    [Fact]
    public async Task WorkerRunsTheJob_ItsSpanIsAChildOfTheRequest_WithTheRefreshAndCreationUnderIt()
    {
        using var spans = new SpanCollector();
        await using var rig = new QueueRig(server, o => o.QueueName = Unique());
        await rig.MakeStaleAsync("a");
        ActivityContext request;
        using (Activity page = s_requests.StartActivity("GET /a")!)
        {
            request = page.Context;
            Assert.Equal("old", await rig.Fetch.InvokeAsync("a"));
        }

        // The worker starts with no ambient trace: all it has is what the job carries.
        Activity.Current = null;
        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(spans.InTrace(request.TraceId).Any(a => a.OperationName == "dogpile.redis.job")), "the job span ended");
        await worker.StopAsync(CancellationToken.None);

        List<Activity> trace = spans.InTrace(request.TraceId);
        Activity job = trace.Single(a => a.OperationName == "dogpile.redis.job");
        Assert.Equal(request.SpanId, job.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, job.Kind);
        Assert.Equal("completed", job.GetTagItem("dogpile.job.outcome"));
        Assert.Equal("jobs", job.GetTagItem("dogpile.region"));
        Activity refresh = trace.Single(a => a.OperationName == "dogpile.refresh");
        Assert.Equal(job.SpanId, refresh.ParentSpanId);
        Assert.Equal("created", refresh.GetTagItem("dogpile.outcome"));
        Activity create = trace.Single(a => a.OperationName == "dogpile.create");
        Assert.Equal(refresh.SpanId, create.ParentSpanId);

        // Redis calls made inside the sampled trace are client spans of their own (the enqueue, the worker's writes).
        Assert.Contains(trace, a => a.Kind == ActivityKind.Client && (string?)a.GetTagItem("db.operation.name") == "enqueue");
    }

    [Fact]
    public async Task JobRuns_LatencyAndProcessDurationRecordedInSeconds_RedisCallsMeasuredByOperation()
    {
        string queue = Unique();
        using var measured = new Measurements(RedisRefreshQueue.MeterName);
        await using var rig = new QueueRig(server, o => o.QueueName = queue);
        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("a");

        Assert.Equal("old", await rig.Fetch.InvokeAsync("a"));
        await Eventually.TrueAsync(() => Task.FromResult(measured.Of("dogpile.redis.job.process.duration", queue).Count == 1), "the job's run was measured");
        await worker.StopAsync(CancellationToken.None);

        var run = measured.Of("dogpile.redis.job.process.duration", queue).Single();
        var total = measured.Of("dogpile.redis.job.latency", queue).Single();
        Assert.Equal("completed", run.Tags["dogpile.job.outcome"]);
        Assert.Equal("s", run.Unit);
        Assert.Equal("s", total.Unit);
        Assert.InRange(run.Value, 0, 10);
        Assert.InRange(total.Value, run.Value - 0.05, 10); // the enqueue came first (its stamp is in whole ms)
        var enqueue = measured.Of("dogpile.redis.operation.duration", queue: null).First(m => Equals(m.Tags["db.operation.name"], "enqueue"));
        Assert.Equal("s", enqueue.Unit);
        Assert.InRange(enqueue.Value, 0, 10);
    }

    private static string Unique() => "q" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// Every histogram measurement of one meter name. Not MetricCollector: it binds to one instrument object, and every
    /// queue (here, one per test running in parallel) has its own meter of that name.
    /// </summary>
    private sealed class Measurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<Measured> _all = new();

        public Measurements(string meterName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == meterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    copy[tag.Key] = tag.Value;
                }

                _all.Enqueue(new Measured(instrument.Name, instrument.Unit, value, copy));
            });
            _listener.Start();
        }

        public List<Measured> Of(string name, string? queue)
            => _all.Where(m => m.Name == name && (queue is null || Equals(m.Tags.GetValueOrDefault("dogpile.queue"), queue))).ToList();

        public void Dispose() => _listener.Dispose();
    }

    private sealed record Measured(string Name, string? Unit, double Value, Dictionary<string, object?> Tags);

    /// <summary>Records every stopped span of Dogpile's sources and the test's request source, sampled with all data.</summary>
    private sealed class SpanCollector : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();

        public SpanCollector()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name.StartsWith("Dogpile", StringComparison.Ordinal),
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> InTrace(ActivityTraceId trace) => _stopped.Where(a => a.TraceId == trace).ToList();

        public void Dispose() => _listener.Dispose();
    }
}
