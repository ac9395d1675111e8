using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;

namespace Dogpile.Memcached.Tests;

/// <summary>
/// A scripted peer misbehaves on its first connection and behaves on the next: each fault must surface as a
/// clear exception, drop that connection, and leave the client able to work on a fresh one.
/// </summary>
public sealed class FaultyServerTests
{
    private static readonly Func<System.Net.Sockets.NetworkStream, Task> Healthy = FakeMemcachedServer.ReplyEachLine("EN\r\n"u8.ToArray());

    private static MemcachedClient NewClient(FakeMemcachedServer fake, TimeSpan? requestTimeout = null)
    {
        // No breaker interval: these tests are about the connection a fault leaves behind, and the next call must reach
        // the server (a request timeout would otherwise make it fail fast for a moment).
        var options = new MemcachedClientOptions { MaxConnectionsPerServer = 2, RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10), DeadServerFirstRetryDelay = TimeSpan.Zero };
        options.Servers.Add(fake.Endpoint);
        return new MemcachedClient(options);
    }

    private static async Task AssertFaultThenRecovery<TException>(Func<System.Net.Sockets.NetworkStream, Task> fault, string? messagePart = null)
        where TException : MemcachedException
    {
        await using var fake = new FakeMemcachedServer(fault, Healthy);
        using var client = NewClient(fake);

        var error = await Assert.ThrowsAsync<TException>(async () => await client.GetAsync("key"));

        if (messagePart is not null)
        {
            Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, client.OpenConnectionCount);
        Assert.False((await client.GetAsync("key")).Found);
        Assert.Equal(2, fake.AcceptedConnections);
        Assert.Equal(1, client.OpenConnectionCount);
    }

    [Fact]
    public Task ServerErrorLine_ThrowsServerErrorAndDiscardsConnection() =>
        AssertFaultThenRecovery<MemcachedServerErrorException>(FakeMemcachedServer.ReplyEachLine("SERVER_ERROR out of memory\r\n"u8.ToArray()), "out of memory");

    [Fact]
    public Task ClientErrorLine_ThrowsServerErrorAndDiscardsConnection() =>
        AssertFaultThenRecovery<MemcachedServerErrorException>(FakeMemcachedServer.ReplyEachLine("CLIENT_ERROR bad command line format\r\n"u8.ToArray()), "bad command line");

    [Fact]
    public Task ErrorLine_ThrowsServerErrorAndDiscardsConnection() =>
        AssertFaultThenRecovery<MemcachedServerErrorException>(FakeMemcachedServer.ReplyEachLine("ERROR\r\n"u8.ToArray()), "ERROR");

    [Fact]
    public Task CloseMidReply_ThrowsConnectionExceptionAndDiscardsConnection() =>
        AssertFaultThenRecovery<MemcachedConnectionException>(FakeMemcachedServer.ReplyOnceThenClose("VA 10 f0\r\nabc"u8.ToArray()), "middle of a reply");

    [Fact]
    public Task CloseBeforeReply_ThrowsConnectionException() =>
        AssertFaultThenRecovery<MemcachedConnectionException>(FakeMemcachedServer.ReplyOnceThenClose([]));

    [Fact]
    public Task GarbageLine_ThrowsProtocolException() =>
        AssertFaultThenRecovery<MemcachedProtocolException>(FakeMemcachedServer.ReplyEachLine("HELLO WORLD\r\n"u8.ToArray()), "HELLO");

    [Fact]
    public Task GarbageWithoutLineEnd_ThrowsProtocolExceptionWithoutWaitingForTimeout() =>
        AssertFaultThenRecovery<MemcachedProtocolException>(FakeMemcachedServer.ReplyEachLine([0x00, 0x01, 0xfe, 0x42]));

    [Fact]
    public Task OversizedValueAnnouncement_ThrowsProtocolException() =>
        AssertFaultThenRecovery<MemcachedProtocolException>(FakeMemcachedServer.ReplyEachLine("VA 999999999999 f0\r\n"u8.ToArray()), "maximum item size");

    [Fact]
    public Task StatusTheCommandNeverReturns_ThrowsProtocolException() =>
        AssertFaultThenRecovery<MemcachedProtocolException>(FakeMemcachedServer.ReplyEachLine("NS\r\n"u8.ToArray()), "mg");

    [Fact]
    public async Task PipelinedReplyWithUnknownOpaque_ThrowsProtocolException()
    {
        await using var fake = new FakeMemcachedServer(FakeMemcachedServer.ReplyOnceThenClose("VA 1 O99\r\nx\r\nMN\r\n"u8.ToArray()), Healthy);
        using var client = NewClient(fake);

        await Assert.ThrowsAsync<MemcachedProtocolException>(async () => await client.GetManyAsync(["a", "b"]));
        Assert.Equal(0, client.OpenConnectionCount);
    }

    [Fact]
    public async Task NoReply_TimesOutAndDiscardsConnection()
    {
        await using var fake = new FakeMemcachedServer(FakeMemcachedServer.NeverReply(), Healthy);
        using var client = NewClient(fake, TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await client.GetAsync("key"));

        Assert.Contains("request timeout", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.OpenConnectionCount);
        Assert.False((await client.GetAsync("key")).Found);
    }

    [Fact]
    public async Task RandomRepliesFromPeer_OnlyEverSurfaceAsMemcachedExceptions()
    {
        var random = new Random(99);
        var valid = new[] { "EN\r\n", "VA 2 f1 c2 t-1\r\nab\r\n", "HD\r\n", "VA 3\r\nab" };
        var behaviours = Enumerable.Range(0, 60).Select(i =>
        {
            byte[] reply;
            if (i % 3 == 0)
            {
                reply = new byte[random.Next(1, 200)];
                random.NextBytes(reply);
            }
            else
            {
                // A valid reply with a few bytes flipped, cut short, or followed by noise.
                reply = System.Text.Encoding.ASCII.GetBytes(valid[random.Next(valid.Length)]);
                reply[random.Next(reply.Length)] = (byte)random.Next(256);
                reply = reply[..random.Next(1, reply.Length + 1)];
            }

            return i % 2 == 0 ? FakeMemcachedServer.ReplyOnceThenClose(reply) : FakeMemcachedServer.ReplyEachLine(reply);
        }).ToArray();
        await using var fake = new FakeMemcachedServer(behaviours);
        using var client = NewClient(fake, TimeSpan.FromMilliseconds(300));

        for (var i = 0; i < behaviours.Length; i++)
        {
            try
            {
                _ = await client.GetAsync("key");
            }
            catch (MemcachedException)
            {
                Assert.Equal(0, client.OpenConnectionCount);
            }

            // Force a fresh connection (and so the next scripted reply) for every round.
            client.Servers[0].DiscardIdleConnections();
        }
    }

    [Fact]
    public async Task PooledConnectionClosedByPeer_ReadIsRetriedOnceOnAFreshConnection()
    {
        await using var fake = new FakeMemcachedServer(FakeMemcachedServer.ReplyOnceThenClose("EN\r\n"u8.ToArray()), Healthy);
        using var client = NewClient(fake);
        Assert.False((await client.GetAsync("key")).Found);

        // The pooled socket is now closed by the peer; the read must not surface that.
        Assert.False((await client.GetAsync("key")).Found);

        Assert.Equal(2, fake.AcceptedConnections);
        Assert.Equal(1, client.OpenConnectionCount);
    }

    [Fact]
    public async Task PooledConnectionClosedByPeer_WriteIsNotRetried()
    {
        await using var fake = new FakeMemcachedServer(FakeMemcachedServer.ReplyOnceThenClose("EN\r\n"u8.ToArray()), Healthy);
        using var client = NewClient(fake);
        Assert.False((await client.GetAsync("key")).Found);

        // A write may have been applied before its reply was lost, so it fails instead of running twice.
        await Assert.ThrowsAsync<MemcachedConnectionException>(async () => await client.DeleteAsync("key"));

        Assert.Equal(1, fake.AcceptedConnections);
        Assert.Equal(0, client.OpenConnectionCount);
    }

    [Fact]
    public async Task Metrics_ReportOpenAndDiscardedConnections()
    {
        await using var fake = new FakeMemcachedServer(FakeMemcachedServer.ReplyEachLine("HELLO\r\n"u8.ToArray()), Healthy);
        using var client = NewClient(fake);
        long discarded = 0;
        var open = new List<int>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == client.Metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "dogpile.memcached.connections.discarded")
            {
                Interlocked.Add(ref discarded, value);
            }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => open.Add(value));
        listener.Start();

        await Assert.ThrowsAsync<MemcachedProtocolException>(async () => await client.GetAsync("key"));
        _ = await client.GetAsync("key");
        listener.RecordObservableInstruments();

        Assert.Equal(1, Interlocked.Read(ref discarded));
        Assert.Equal([1], open);
    }
}
