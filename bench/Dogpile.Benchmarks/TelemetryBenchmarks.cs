using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;

namespace Dogpile.Benchmarks;

/// <summary>Who listens while the region works: nobody, a tracer, or a tracer and a metrics collector.</summary>
public enum Listener
{
    /// <summary>No listener: the hit path must be exactly the plain hit (0 B, the same ns).</summary>
    None,

    /// <summary>An ActivityListener sampling every Dogpile span with all data (what a tracing SDK does).</summary>
    Tracing,

    /// <summary>Tracing, and a MeterListener with every Dogpile instrument on (dogpile.hits then counts each hit).</summary>
    TracingAndMetrics,
}

/// <summary>
/// What telemetry costs: a hot hit (no span is ever started on it, so only the hit counter a metrics listener turns
/// on shows), and a miss (a creation span and the creation histogram).
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    private const string Key = "product:42";
    private const string Value = "the cached value";
    private CacheRegion _region = null!;
    private ActivityListener? _tracer;
    private MeterListener? _meters;

    [Params(Listener.None, Listener.Tracing, Listener.TracingAndMetrics)]
    public Listener Listening { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Listening != Listener.None)
        {
            _tracer = new ActivityListener
            {
                ShouldListenTo = static source => source.Name.StartsWith("Dogpile", StringComparison.Ordinal),
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(_tracer);
        }

        if (Listening == Listener.TracingAndMetrics)
        {
            _meters = new MeterListener
            {
                InstrumentPublished = static (instrument, listener) =>
                {
                    if (instrument.Meter.Name.StartsWith("Dogpile", StringComparison.Ordinal))
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meters.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
            _meters.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
            _meters.Start();
        }

        _region = new CacheRegion(new CacheRegionOptions { Name = "telemetry", Expiration = TimeSpan.FromHours(1) });
        _ = Hit();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _region.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _meters?.Dispose();
        _tracer?.Dispose();
    }

    [Benchmark]
    public string Hit()
    {
        ValueTask<string> hit = _region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value));
        return hit.IsCompletedSuccessfully ? hit.Result : hit.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public async ValueTask<string> Miss()
    {
        await _region.RemoveAsync(Key);
        return await _region.GetOrCreateAsync(Key, 0, static (_, _) => new ValueTask<string>(Value));
    }
}
