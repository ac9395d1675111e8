using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Dogpile.Tests.Diagnostics;

/// <summary>
/// The <c>Dogpile</c> activity source and duration histograms. Tests run in parallel and both are process-wide, so each
/// test looks only at spans and measurements tagged with its own region's name.
/// </summary>
public sealed class TracingAndHistogramTests
{
    private static readonly ActivitySource s_test = new("Dogpile.Tests.Tracing");

    [Fact]
    public async Task Miss_WithListener_CreationSpanHasRegionHashedKeyAndOutcome()
    {
        using var spans = new SpanCollector();
        await using var t = new TestRegion(o => o.Name = Unique("create"));

        Assert.Equal(1, await t.Region.GetOrCreateAsync("user:42", _ => new ValueTask<int>(1)));

        Activity create = Assert.Single(spans.For(t.Region.Name, "dogpile.create"));
        Assert.Equal("created", create.GetTagItem("dogpile.outcome"));
        Assert.Equal(Sha256Prefix("user:42"), create.GetTagItem("dogpile.key.hash"));
        Assert.DoesNotContain(create.TagObjects, tag => Equals(tag.Value, "user:42"));
        Assert.Equal(ActivityStatusCode.Unset, create.Status);
    }

    [Fact]
    public async Task TraceKeysOmitted_CreationSpan_CarriesNoKey()
    {
        using var spans = new SpanCollector();
        await using var t = new TestRegion(o =>
        {
            o.Name = Unique("omit");
            o.TraceKeys = TraceKeyMode.Omitted;
        });

        await t.Region.GetOrCreateAsync("user:42", _ => new ValueTask<int>(1));

        Activity create = Assert.Single(spans.For(t.Region.Name, "dogpile.create"));
        Assert.Null(create.GetTagItem("dogpile.key.hash"));
        Assert.DoesNotContain(create.TagObjects, tag => tag.Key.Contains("key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreatorThrows_CreationSpanIsAnError_AndTheHistogramSaysFailed()
    {
        using var spans = new SpanCollector();
        using var durations = new MetricCollector<double>(null, "Dogpile", "dogpile.creation.duration");
        await using var t = new TestRegion(o => o.Name = Unique("fail"));

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await t.Region.GetOrCreateAsync<int>("k", _ => throw new InvalidOperationException("upstream down")));

        Activity create = Assert.Single(spans.For(t.Region.Name, "dogpile.create"));
        Assert.Equal(ActivityStatusCode.Error, create.Status);
        Assert.Equal("failed", create.GetTagItem("dogpile.outcome"));
        Assert.Equal(typeof(InvalidOperationException).FullName, create.GetTagItem("error.type"));
        var measured = Assert.Single(durations.GetMeasurementSnapshot(), m => Equals(m.Tags["region"], t.Region.Name));
        Assert.Equal("failed", measured.Tags["dogpile.outcome"]);
    }

    [Fact]
    public async Task CreationDuration_IsTheCreatorsRunInSeconds()
    {
        using var durations = new MetricCollector<double>(null, "Dogpile", "dogpile.creation.duration");
        await using var t = new TestRegion(o => o.Name = Unique("duration"));

        await t.Region.GetOrCreateAsync("k", _ =>
        {
            t.Time.Advance(TimeSpan.FromMilliseconds(1500));
            return new ValueTask<int>(1);
        });

        var measured = Assert.Single(durations.GetMeasurementSnapshot(), m => Equals(m.Tags["region"], t.Region.Name));
        Assert.Equal(1.5, measured.Value, precision: 6);
        Assert.Equal("created", measured.Tags["dogpile.outcome"]);
        Assert.Equal("s", durations.Instrument!.Unit);
    }

    [Fact]
    public async Task SecondCallerWaitsForTheFirstsCreation_LockWaitSpanAndHistogramInSeconds()
    {
        using var spans = new SpanCollector();
        using var waits = new MetricCollector<double>(null, "Dogpile", "dogpile.lock.wait.duration");
        await using var t = new TestRegion(o => o.Name = Unique("wait"));
        var creator = new ControlledCreator<int>(n => n);
        creator.Hold();

        ValueTask<int> first = t.Region.GetOrCreateAsync("k", creator.CreateAsync);
        await creator.Started.Task;
        ValueTask<int> second = t.Region.GetOrCreateAsync("k", creator.CreateAsync);
        t.Time.Advance(TimeSpan.FromSeconds(2));
        creator.Release();

        Assert.Equal(1, await first);
        Assert.Equal(1, await second);
        Activity wait = Assert.Single(spans.For(t.Region.Name, "dogpile.lock.wait"));
        Assert.Equal("in_process", wait.GetTagItem("dogpile.lock.kind"));
        Assert.Equal("value_produced", wait.GetTagItem("dogpile.outcome"));
        var measured = Assert.Single(waits.GetMeasurementSnapshot(), m => Equals(m.Tags["region"], t.Region.Name));
        Assert.Equal(2.0, measured.Value, precision: 6);
        Assert.Equal("in_process", measured.Tags["dogpile.lock.kind"]);
    }

    [Fact]
    public async Task BackgroundRefresh_RefreshSpanContinuesTheTraceOfTheCallThatFoundTheStaleValue()
    {
        using var spans = new SpanCollector();
        await using var t = new TestRegion(o =>
        {
            o.Name = Unique("refresh");
            o.BackgroundRefresh = true;
        });
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));

        ActivityContext request;
        using (Activity page = s_test.StartActivity("GET /page")!)
        {
            request = page.Context;
            Assert.Equal("old", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("new")));
        }

        await Eventually.TrueAsync(() => Task.FromResult(spans.For(t.Region.Name, "dogpile.refresh").Count == 1), "the refresh span ended");
        Activity refresh = spans.For(t.Region.Name, "dogpile.refresh")[0];
        Assert.Equal(request.TraceId, refresh.TraceId);
        Assert.Equal(request.SpanId, refresh.ParentSpanId);
        Assert.Equal("expired", refresh.GetTagItem("dogpile.refresh.reason"));
        Assert.Equal("created", refresh.GetTagItem("dogpile.outcome"));
        Activity create = Assert.Single(spans.For(t.Region.Name, "dogpile.create"));
        Assert.Equal(refresh.SpanId, create.ParentSpanId);
    }

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static string Sha256Prefix(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 8));

    /// <summary>Records every stopped span of the Dogpile source (and this test source), sampled with all data.</summary>
    private sealed class SpanCollector : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();

        public SpanCollector()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is "Dogpile" or "Dogpile.Tests.Tracing",
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> For(string region, string name)
            => _stopped.Where(a => a.OperationName == name && Equals(a.GetTagItem("dogpile.region"), region)).ToList();

        public void Dispose()
        {
            _listener.Dispose();
        }
    }
}
