using System.Diagnostics;

namespace Dogpile.Memcached.Client;

/// <summary>
/// The <c>Dogpile.Memcached</c> activity source. A memcached call is traced only inside a sampled trace: a span per
/// hit of every unsampled request would cost more than the hit.
/// </summary>
internal static class MemcachedTelemetry
{
    public const string SourceName = "Dogpile.Memcached";

    public static readonly ActivitySource Source = new(SourceName, "1.0");

    public static Activity? StartOperation(string operation, ServerAddress server)
    {
        if (!Source.HasListeners() || Activity.Current is not { Recorded: true })
        {
            return null;
        }

        Activity? activity = Source.StartActivity(operation, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", "memcached");
            activity.SetTag("db.operation.name", operation);
            activity.SetTag("server.address", server.Host);
            activity.SetTag("server.port", server.Port);
        }

        return activity;
    }

    public static void EndOperation(Activity? activity, MemcachedMetrics? metrics, string operation, ServerAddress server, TimeSpan elapsed, string? errorType)
    {
        metrics?.RecordOperation(operation, server, elapsed, errorType);
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
}
