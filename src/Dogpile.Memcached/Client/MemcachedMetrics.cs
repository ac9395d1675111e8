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
    }

    public Meter Meter { get; }

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
