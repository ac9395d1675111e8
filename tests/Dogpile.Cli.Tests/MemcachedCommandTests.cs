using System.Text.Json;
using Dogpile.Memcached;
using Dogpile.Testing;

namespace Dogpile.Cli.Tests;

public sealed class MemcachedCommandTests(MemcachedFixture server) : IClassFixture<MemcachedFixture>, IAsyncLifetime
{
    private DogpileMemcached _memcached = null!;
    private CacheRegion _region = null!;
    private string _backendPrefix = "";

    public Task InitializeAsync()
    {
        // A backend prefix of its own per test: the tests share the server.
        _backendPrefix = "m" + Guid.NewGuid().ToString("N")[..8] + ":";
        var options = new DogpileMemcachedOptions { Client = { Servers = { server.Endpoint } }, Backend = { KeyPrefix = _backendPrefix } };
        _memcached = new DogpileMemcached(options);
        _region = new CacheRegion(new CacheRegionOptions { Name = "pages", KeyPrefix = "pages:", Backend = _memcached.Backend, LockProvider = _memcached.LockProvider, Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(5) });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _region.DisposeAsync();
        _memcached.Dispose();
    }

    private string[] Args(params string[] command) => ["memcached", .. command, "--servers", server.Endpoint, "--backend-prefix", _backendPrefix];

    [Fact]
    public async Task Key_EntryWithHeldLock_ShowsTimesSizeStateAndLock()
    {
        await _region.SetAsync("home", "home-page", new CacheEntryOptions { Expiration = TimeSpan.FromMinutes(3) });
        await using ICacheLock? held = await _memcached.LockProvider.TryAcquireAsync("pages:home", CancellationToken.None);
        Assert.NotNull(held);

        CliResult key = await Cli.RunAsync(Args("key", "pages", "home", "--json"));
        Assert.True(key.ExitCode == 0, key.ToString());
        JsonElement info = key.Json;
        Assert.Equal($"{_backendPrefix}pages:home", info.GetProperty("serverKey").GetString());
        Assert.Equal("fresh", info.GetProperty("state").GetString());
        DateTimeOffset created = info.GetProperty("created").GetDateTimeOffset();
        Assert.Equal(created + TimeSpan.FromMinutes(3), info.GetProperty("freshUntil").GetDateTimeOffset());
        Assert.InRange(info.GetProperty("staleUntil").GetDateTimeOffset() - created, TimeSpan.FromMinutes(7.5), TimeSpan.FromMinutes(8.5));
        Assert.True(info.GetProperty("lockHeld").GetBoolean());
        Assert.Contains("home-page", info.GetProperty("payloadPreview").GetString(), StringComparison.Ordinal);

        CliResult table = await Cli.RunAsync(Args("key", "pages", "home"));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("stale until", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_TaggedEntry_ShowsItsTags()
    {
        await _region.SetAsync("tagged", "t", new CacheEntryOptions { Tags = ["home", "nav"] });
        await _region.SetAsync("plain", "p");

        CliResult key = await Cli.RunAsync(Args("key", "pages", "tagged", "--json"));
        Assert.True(key.ExitCode == 0, key.ToString());
        Assert.Equal(["home", "nav"], key.Json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        CliResult table = await Cli.RunAsync(Args("key", "pages", "tagged"));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("home, nav", table.Out, StringComparison.Ordinal);
        Assert.Empty((await Cli.RunAsync(Args("key", "pages", "plain", "--json"))).Json.GetProperty("tags").EnumerateArray());
    }

    [Fact]
    public async Task Key_LongUnsafeKey_FoundUnderItsHashedBackendKey()
    {
        string key = "search results for " + new string('q', 300);
        await _region.SetAsync(key, "r");

        CliResult result = await Cli.RunAsync(Args("key", "pages", key, "--json"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("sha256:", result.Json.GetProperty("backendKey").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_RefusedWithoutYes_ThenRemoved_ThenNoSuchKey()
    {
        await _region.SetAsync("old", "v");

        CliResult refused = await Cli.RunAsync(Args("remove", "pages", "old"));
        Assert.Equal(6, refused.ExitCode);
        Assert.True((await _region.GetAsync<string>("old")).HasValue);

        CliResult removed = await Cli.RunAsync(Args("remove", "pages", "old", "--yes", "--json"));
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.True(removed.Json.GetProperty("removed").GetBoolean());
        Assert.False((await _region.GetAsync<string>("old")).HasValue);

        CliResult missing = await Cli.RunAsync(Args("key", "pages", "old"));
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("No such key", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_ReportsTheServersItems()
    {
        await _region.SetAsync("counted", "v");

        CliResult stats = await Cli.RunAsync(Args("stats", "--json"));
        Assert.True(stats.ExitCode == 0, stats.ToString());
        JsonElement only = Assert.Single(stats.Json.EnumerateArray());
        Assert.Equal(server.Endpoint, only.GetProperty("server").GetString());
        Assert.True(long.Parse(only.GetProperty("stats").GetProperty("curr_items").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= 1);

        CliResult table = await Cli.RunAsync(Args("stats"));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("hit ratio", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongServer_Exit5()
    {
        int closed = ServerProcess.FreePort();
        CliResult stats = await Cli.RunAsync(["memcached", "stats", "--servers", $"127.0.0.1:{closed}", "--timeout", "1"]);
        Assert.Equal(5, stats.ExitCode);
        Assert.Contains($"Cannot reach memcached at '127.0.0.1:{closed}'", stats.Error, StringComparison.Ordinal);

        CliResult key = await Cli.RunAsync(["memcached", "key", "pages", "home", "--servers", $"127.0.0.1:{closed}", "--timeout", "1"]);
        Assert.Equal(5, key.ExitCode);
    }
}
