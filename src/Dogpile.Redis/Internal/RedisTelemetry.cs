using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Dogpile.Redis.Internal;

/// <summary>
/// The <c>Dogpile.Redis</c> activity source, and the Redis call histogram (on a <c>Dogpile.Redis</c> meter of its own:
/// calls are made by connections, which outlive no queue and need none). A Redis call is traced only inside a sampled
/// trace: a span per hit of every unsampled request would cost more than the hit.
/// </summary>
internal static class RedisTelemetry
{
    public const string SourceName = "Dogpile.Redis";

    public static readonly ActivitySource Source = new(SourceName, "1.0");

    private static readonly Meter s_meter = new(RedisRefreshQueue.MeterName, "1.0");

    /// <summary>Seconds, from a sub-millisecond round trip to the connect wait.</summary>
    public static readonly InstrumentAdvice<double> CallAdvice = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    /// <summary>Seconds, from a job run at once to one that waited through retries.</summary>
    public static readonly InstrumentAdvice<double> JobAdvice = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    };

    public static readonly Histogram<double> OperationDuration = s_meter.CreateHistogram(
        "dogpile.redis.operation.duration", "s", "Duration of Redis calls (backend reads and writes, locks, queue), by operation", tags: null, CallAdvice);

    /// <summary>Whether a call must go through <see cref="RedisConnection.RunAsync{T}"/> to be measured or traced.</summary>
    public static bool Observed
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => OperationDuration.Enabled || Source.HasListeners();
    }

    /// <summary>A client span for one Redis call, only within a sampled trace.</summary>
    public static Activity? StartOperation(string operation)
    {
        if (!Source.HasListeners() || Activity.Current is not { Recorded: true })
        {
            return null;
        }

        Activity? activity = Source.StartActivity(operation, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", "redis");
            activity.SetTag("db.operation.name", operation);
        }

        return activity;
    }

    public static void EndOperation(Activity? activity, string operation, TimeSpan elapsed, string? errorType)
    {
        if (OperationDuration.Enabled)
        {
            if (errorType is null)
            {
                OperationDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("db.operation.name", operation));
            }
            else
            {
                OperationDuration.Record(elapsed.TotalSeconds, new("db.operation.name", operation), new("error.type", errorType));
            }
        }

        if (activity is not null)
        {
            if (errorType is not null)
            {
                activity.SetTag("error.type", errorType);
                activity.SetStatus(ActivityStatusCode.Error);
            }

            activity.Dispose();
        }
    }

    /// <summary>
    /// The W3C <c>traceparent</c> of a context (version 00), what the job carries to the worker; <see langword="null"/>
    /// for none.
    /// </summary>
    public static string? TraceParent(ActivityContext context)
        => context.TraceId == default
            ? null
            : string.Concat("00-", context.TraceId.ToHexString(), "-", context.SpanId.ToHexString(), (context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "-01" : "-00");
}
