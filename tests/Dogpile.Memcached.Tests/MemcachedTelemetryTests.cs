using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;

namespace Dogpile.Memcached.Tests;

/// <summary>The Dogpile.Memcached activity source and call histogram, against a real memcached.</summary>
public sealed class MemcachedTelemetryTests(MemcachedServer server) : IClassFixture<MemcachedServer>
{
    private static readonly ActivitySource s_requests = new("Dogpile.Memcached.Tests.Requests");

    [Fact]
    public async Task CallsInsideASampledTrace_AreClientSpans_CallsOutsideAreNot()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is MemcachedTelemetry.SourceName or "Dogpile.Memcached.Tests.Requests",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using MemcachedClient client = NewClient();
        string key = "t:" + Guid.NewGuid().ToString("N");

        Activity.Current = null;
        _ = await client.GetAsync(key);
        ActivityTraceId trace;
        using (Activity request = s_requests.StartActivity("GET /page")!)
        {
            trace = request.TraceId;
            _ = await client.GetAsync(key);
        }

        Activity get = Assert.Single(stopped, a => a.Source.Name == MemcachedTelemetry.SourceName && a.GetTagItem("server.port") is int port && port == server.Port);
        Assert.Equal(trace, get.TraceId);
        Assert.Equal("get", get.OperationName);
        Assert.Equal(ActivityKind.Client, get.Kind);
        Assert.Equal("memcached", get.GetTagItem("db.system.name"));
    }

    [Fact]
    public async Task OperationDuration_RecordedInSecondsByOperationAndServer()
    {
        using MemcachedClient client = NewClient();
        var measured = new ConcurrentQueue<(string Name, string? Unit, double Value, string? Operation)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == client.Metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            string? operation = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "db.operation.name")
                {
                    operation = (string?)tag.Value;
                }
            }

            measured.Enqueue((instrument.Name, instrument.Unit, value, operation));
        });
        listener.Start();

        string key = "t:" + Guid.NewGuid().ToString("N");
        _ = await client.SetAsync(key, "v"u8.ToArray(), flags: 0, TimeSpan.FromMinutes(1));
        _ = await client.GetAsync(key);

        Assert.Equal(["set", "get"], measured.Select(m => m.Operation));
        Assert.All(measured, m =>
        {
            Assert.Equal("dogpile.memcached.operation.duration", m.Name);
            Assert.Equal("s", m.Unit);
            Assert.InRange(m.Value, 0, 5);
        });
    }

    private MemcachedClient NewClient()
    {
        var options = new MemcachedClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) };
        options.Servers.Add(server.Endpoint);
        return new MemcachedClient(options);
    }
}
