using System.Text;
using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;

namespace Dogpile.Memcached.Tests;

public sealed class MultiServerTests : IClassFixture<TwoMemcachedServers>
{
    private readonly TwoMemcachedServers _servers;

    public MultiServerTests(TwoMemcachedServers servers) => _servers = servers;

    private static MemcachedClient NewClient(params string[] servers)
    {
        // These tests are about where keys land, not timeouts: a loaded CI machine (every test assembly at once) may take
        // more than the default second to answer on loopback.
        var options = new MemcachedClientOptions { RequestTimeout = TimeSpan.FromSeconds(10), PoolWaitTimeout = TimeSpan.FromSeconds(10) };
        foreach (var server in servers)
        {
            options.Servers.Add(server);
        }

        return new MemcachedClient(options);
    }

    [Fact]
    public async Task Keys_LandOnTheServerTheRingPicks_AndSpreadOverBoth()
    {
        using var client = NewClient(_servers.First.Endpoint, _servers.Second.Endpoint);
        using var firstOnly = NewClient(_servers.First.Endpoint);
        using var secondOnly = NewClient(_servers.Second.Endpoint);
        var keys = Enumerable.Range(0, 400).Select(i => $"spread:{i}").ToArray();

        foreach (var key in keys)
        {
            await client.SetAsync(key, Encoding.UTF8.GetBytes(key), 0, TimeSpan.FromMinutes(1));
        }

        var onFirst = await firstOnly.GetManyAsync(keys);
        var onSecond = await secondOnly.GetManyAsync(keys);

        Assert.Equal(keys.Length, onFirst.Count + onSecond.Count);
        Assert.InRange(onFirst.Count, 100, 300);
        Assert.All(onFirst.Keys, k => Assert.Same(client.Servers[0], client.GetServer(k)));
        Assert.All(onSecond.Keys, k => Assert.Same(client.Servers[1], client.GetServer(k)));
    }

    [Fact]
    public async Task GetMany_AcrossTwoServers_ReturnsEveryFoundKey()
    {
        using var client = NewClient(_servers.First.Endpoint, _servers.Second.Endpoint);
        var keys = Enumerable.Range(0, 500).Select(i => $"multi:{i}").ToArray();
        var present = keys.Where((_, i) => i % 4 != 0).ToArray();
        foreach (var key in present)
        {
            await client.SetAsync(key, Encoding.UTF8.GetBytes("v:" + key), 7, TimeSpan.FromMinutes(1));
        }

        var results = await client.GetManyAsync(keys);

        Assert.Equal(present.Length, results.Count);
        Assert.All(present, key =>
        {
            Assert.Equal("v:" + key, Encoding.UTF8.GetString(results[key].Value.Span));
            Assert.Equal(7u, results[key].Flags);
        });
        Assert.Contains(present, k => client.GetServer(k) == client.Servers[0]);
        Assert.Contains(present, k => client.GetServer(k) == client.Servers[1]);
        Assert.Equal(2, client.OpenConnectionCount);
    }

    [Fact]
    public async Task GetMany_NoKeys_ReturnsEmptyWithoutConnecting()
    {
        using var client = NewClient(_servers.First.Endpoint, _servers.Second.Endpoint);
        Assert.Empty(await client.GetManyAsync([]));
        Assert.Equal(0, client.OpenConnectionCount);
    }

    [Fact]
    public async Task Noop_PingsEveryServer()
    {
        using var client = NewClient(_servers.First.Endpoint, _servers.Second.Endpoint);
        await client.NoopAsync();
        Assert.Equal(2, client.OpenConnectionCount);
    }
}
