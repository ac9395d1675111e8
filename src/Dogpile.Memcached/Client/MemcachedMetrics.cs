using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dogpile.Memcached.Client;

/// <summary>
/// The client's instruments on the <c>Dogpile.Memcached</c> meter. Counters are only bumped when a listener is
/// enabled, so an unobserved client pays one branch per event.
/// </summary>
internal sealed class MemcachedMetrics : IDisposable
{
    public const string MeterName = "Dogpile.Memcached";

    private readonly Counter<long> _discarded;
    private readonly Counter<long> _markedDead;

    public MemcachedMetrics(Func<IEnumerable<MemcachedServerPool>> pools)
    {
        Meter = new Meter(MeterName);
        _ = Meter.CreateObservableUpDownCounter(
            "dogpile.memcached.connections.open",
            () => pools().Select(static p => new Measurement<int>(p.OpenConnections, new KeyValuePair<string, object?>("server", p.Address.RingName))),
            unit: "{connection}",
            description: "Sockets open to each memcached server, idle or in use.");
        _discarded = Meter.CreateCounter<long>(
            "dogpile.memcached.connections.discarded",
            unit: "{connection}",
            description: "Connections dropped after an error reply, garbage, a close or a timeout.");
        _markedDead = Meter.CreateCounter<long>(
            "dogpile.memcached.servers.marked_dead",
            unit: "{event}",
            description: "Times a server was marked dead after a failed connect.");
        OperationDuration = Meter.CreateHistogram(
            "dogpile.memcached.operation.duration",
            unit: "s",
            description: "Duration of memcached calls, by operation and server.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    }

    public Meter Meter { get; }

    /// <summary>Duration of calls to a server (from taking a connection to the parsed reply), by operation and server.</summary>
    public Histogram<double> OperationDuration { get; }

    public void RecordOperation(string operation, ServerAddress server, TimeSpan elapsed, string? errorType)
    {
        if (!OperationDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "db.operation.name", operation },
            { "server", server.RingName },
        };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        OperationDuration.Record(elapsed.TotalSeconds, tags);
    }

    public void ConnectionDiscarded(ServerAddress server, Exception cause)
    {
        if (_discarded.Enabled)
        {
            _discarded.Add(1,
                new KeyValuePair<string, object?>("server", server.RingName),
                new KeyValuePair<string, object?>("error.type", cause.GetType().Name));
        }
    }

    public void ServerMarkedDead(ServerAddress server)
    {
        if (_markedDead.Enabled)
        {
            _markedDead.Add(1, new KeyValuePair<string, object?>("server", server.RingName));
        }
    }

    public void Dispose() => Meter.Dispose();
}
