using System.Text;
using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Memcached.Tests;

public sealed class ServerFailureTests
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private static MemcachedClient NewClient(TimeProvider time, params string[] servers)
    {
        // A fixed retry delay (first = longest), the subject here; the breaker's doubling has tests of its own.
        var options = new MemcachedClientOptions { DeadServerRetryDelay = RetryDelay, DeadServerFirstRetryDelay = RetryDelay, RequestTimeout = TimeSpan.FromSeconds(5) };
        foreach (var server in servers)
        {
            options.Servers.Add(server);
        }

        return new MemcachedClient(options, time);
    }

    [Fact]
    public async Task ServerKilledThenRestarted_FailsClearlyWhileDownAndRecoversAfterRetryDelay()
    {
        using var server = await MemcachedServer.StartNewAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = NewClient(time, server.Endpoint);
        await client.SetAsync("k", "v"u8.ToArray(), 0, TimeSpan.FromMinutes(1));

        await server.KillAsync();

        // The pooled socket notices the kill first, then a reconnect is refused and marks the server dead.
        var failures = new List<MemcachedException>();
        while (failures.Count < 5 && failures.LastOrDefault() is not MemcachedServerUnavailableException)
        {
            failures.Add(await Assert.ThrowsAnyAsync<MemcachedException>(async () => await client.GetAsync("k")));
        }

        Assert.IsType<MemcachedServerUnavailableException>(failures[^1]);
        Assert.All(failures[..^1], f => Assert.IsType<MemcachedConnectionException>(f));
        Assert.True(client.Servers[0].IsDead);
        Assert.Equal(0, client.OpenConnectionCount);

        await server.StartAsync();

        // Still inside the retry delay: fail fast without touching the (now healthy) server.
        var fast = await Assert.ThrowsAsync<MemcachedServerUnavailableException>(async () => await client.GetAsync("k"));
        Assert.Contains("not remapped", fast.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.OpenConnectionCount);

        time.Advance(RetryDelay);

        Assert.False((await client.GetAsync("k")).Found); // a restarted memcached is empty
        Assert.True((await client.SetAsync("k", "v2"u8.ToArray(), 0, TimeSpan.FromMinutes(1))).Stored);
        Assert.False(client.Servers[0].IsDead);
    }

    [Fact]
    public async Task ServerNeverUp_RetriesOnlyAfterDelay()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string endpoint;
        using (var probe = await MemcachedServer.StartNewAsync())
        {
            // A port a server just left: nothing listens there any more.
            endpoint = probe.Endpoint;
        }

        using var client = NewClient(time, endpoint);

        await Assert.ThrowsAsync<MemcachedConnectionException>(async () => await client.GetAsync("k"));
        await Assert.ThrowsAsync<MemcachedServerUnavailableException>(async () => await client.GetAsync("k"));
        time.Advance(RetryDelay - TimeSpan.FromMilliseconds(1));
        await Assert.ThrowsAsync<MemcachedServerUnavailableException>(async () => await client.GetAsync("k"));
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Assert.ThrowsAsync<MemcachedConnectionException>(async () => await client.GetAsync("k"));
    }

    [Fact]
    public async Task OneOfTwoServersDown_ItsKeysFailFastAndAreNotRemapped_OtherKeysStillWork()
    {
        using var up = await MemcachedServer.StartNewAsync();
        using var down = await MemcachedServer.StartNewAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = NewClient(time, up.Endpoint, down.Endpoint);
        var keys = Enumerable.Range(0, 200).Select(i => $"split:{i}").ToArray();
        var onDown = keys.Where(k => client.GetServer(k) == client.Servers[1]).ToArray();
        var onUp = keys.Except(onDown).ToArray();
        Assert.NotEmpty(onDown);
        Assert.NotEmpty(onUp);

        down.Stop();
        await Assert.ThrowsAsync<MemcachedConnectionException>(async () => await client.GetAsync(onDown[0]));

        foreach (var key in onDown)
        {
            await Assert.ThrowsAsync<MemcachedServerUnavailableException>(async () => await client.SetAsync(key, "x"u8.ToArray(), 0, TimeSpan.FromMinutes(1)));
        }

        foreach (var key in onUp)
        {
            Assert.True((await client.SetAsync(key, Encoding.UTF8.GetBytes(key), 0, TimeSpan.FromMinutes(1))).Stored);
        }

        // Nothing for the dead server's keys landed on the live one.
        using var upOnly = NewClient(TimeProvider.System, up.Endpoint);
        Assert.Empty(await upOnly.GetManyAsync(onDown));
        await Assert.ThrowsAsync<MemcachedServerUnavailableException>(async () => await client.GetManyAsync(keys));
    }
}
