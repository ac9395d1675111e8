using System.Net;
using System.Net.Sockets;
using Dogpile.Memcached.Client;

namespace Dogpile.Memcached.Tests;

public sealed class MemcachedClientOptionsTests
{
    private static MemcachedClientOptions Valid()
    {
        var options = new MemcachedClientOptions();
        options.Servers.Add("127.0.0.1:11211");
        return options;
    }

    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new MemcachedClientOptions();

        Assert.Equal(8, options.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.DeadServerRetryDelay);
        Assert.Equal(1024 * 1024, options.MaxItemSize);
    }

    public static TheoryData<string, Action<MemcachedClientOptions>> InvalidOptions => new()
    {
        { "Servers", o => o.Servers.Clear() },
        { "Servers", o => o.Servers.Add("127.0.0.1:11211") },
        { "Servers", o => o.Servers.Add("host:notaport") },
        { "Servers", o => o.Servers.Add("host:70000") },
        { "Servers", o => o.Servers.Add("[::1") },
        { "MaxConnectionsPerServer", o => o.MaxConnectionsPerServer = 0 },
        { "ConnectTimeout", o => o.ConnectTimeout = TimeSpan.Zero },
        { "RequestTimeout", o => o.RequestTimeout = TimeSpan.FromSeconds(-1) },
        { "PoolWaitTimeout", o => o.PoolWaitTimeout = TimeSpan.Zero },
        { "DeadServerRetryDelay", o => o.DeadServerRetryDelay = TimeSpan.FromSeconds(-1) },
        { "MaxItemSize", o => o.MaxItemSize = 0 },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Client_InvalidOption_ThrowsNamingTheOption(string option, Action<MemcachedClientOptions> breakIt)
    {
        var options = Valid();
        breakIt(options);

        var error = Assert.ThrowsAny<ArgumentException>(() => new MemcachedClient(options));

        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cache1", "cache1:11211")]
    [InlineData("cache1:11311", "cache1:11311")]
    [InlineData(" 10.0.0.1:1 ", "10.0.0.1:1")]
    [InlineData("[::1]:11211", "::1:11211")]
    public void ServerAddress_Parses_HostPortForms(string text, string ringName)
    {
        Assert.Equal(ringName, ServerAddress.Parse(text).RingName);
    }

    [Fact]
    public async Task ConnectThatHangs_TimesOutAndMarksServerDead()
    {
        // A listener that never accepts, with its backlog filled, leaves further SYNs unanswered: connect hangs.
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var filler = new Socket(SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
                try
                {
                    await filler.ConnectAsync(endpoint, quick.Token);
                }
                catch (OperationCanceledException)
                {
                    break; // the backlog is full: exactly the state we want
                }
            }

            var options = new MemcachedClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300) };
            options.Servers.Add(endpoint.ToString());
            using var client = new MemcachedClient(options);

            var error = await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await client.GetAsync("k"));

            Assert.Contains("connect timeout", error.Message, StringComparison.Ordinal);
            Assert.True(client.Servers[0].IsDead);
            Assert.Equal(0, client.OpenConnectionCount);
            await Assert.ThrowsAsync<MemcachedServerUnavailableException>(async () => await client.GetAsync("k"));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }
}
