using System.Text;
using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>Bad input gets a clear exception at the call, and nothing is cached.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task NullOrEmptyKey_ClearException()
    {
        await using var t = new TestRegion();
        Assert.Throws<ArgumentNullException>(() => { _ = t.Region.GetOrCreateAsync<string>(null!, _ => new("v")); });
        Assert.Throws<ArgumentException>(() => { _ = t.Region.GetOrCreateAsync<string>("", _ => new("v")); });
        await Assert.ThrowsAsync<ArgumentException>(async () => await t.Region.GetAsync<string>(""));
        Assert.Throws<ArgumentException>(() => { _ = t.Region.SetAsync("", "v"); });
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await t.Region.GetOrCreateManyAsync<string>(["a", null!], (_, _) => new(["x", "y"])));
    }

    [Fact]
    public async Task KeyOverBackendLimit_WithoutMangler_ClearExceptionAndNothingCached()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System, maxKeyLength: 32);
        await using var t = new TestRegion(backend: backend);
        string key = new('k', 33);

        var ex = Assert.Throws<ArgumentException>(() => { _ = t.Region.GetOrCreateAsync(key, _ => new ValueTask<string>("v")); });
        Assert.Contains("KeyMangler", ex.Message, StringComparison.Ordinal);
        Assert.Empty(backend.Keys);

        // Multi-byte characters count in UTF-8 bytes: 11 x 3 bytes = 33 > 32.
        Assert.Throws<ArgumentException>(() => { _ = t.Region.SetAsync(new string('€', 11), "v"); });
    }

    [Fact]
    public async Task KeyOverBackendLimit_WithMangler_IsHashed()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System, maxKeyLength: 80);
        await using var t = new TestRegion(o => o.KeyMangler = KeyManglers.Sha256, backend);
        string key = new('k', 500);

        Assert.Equal("v", await t.Region.GetOrCreateAsync(key, _ => new ValueTask<string>("v")));
        Assert.Equal(64, Assert.Single(backend.Keys).Length);
        Assert.Equal("v", (await t.Region.GetAsync<string>(key)).Value);
    }

    [Fact]
    public async Task NegativeExpiration_ClearExceptionAtCallAndNothingCached()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "cached");
        var bad = new CacheEntryOptions { Expiration = TimeSpan.FromSeconds(-1) };

        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v"), bad); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = t.Region.GetOrCreateAsync("new", _ => new ValueTask<string>("v"), bad); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = t.Region.SetAsync("other", "v", bad); });
        Assert.False((await t.Region.GetAsync<string>("new")).HasValue);
        Assert.False((await t.Region.GetAsync<string>("other")).HasValue);
    }

    [Theory]
    [InlineData("MaxStaleness")]
    [InlineData("Expiration")]
    [InlineData("LockTimeout")]
    [InlineData("EarlyRefreshRatio")]
    [InlineData("EarlyExpirationBeta")]
    [InlineData("RefreshFailureMaxBackoff")]
    [InlineData("MaxConcurrentRefreshes")]
    [InlineData("Name")]
    public void InvalidOrContradictoryOptions_RejectedWhenRegionIsBuilt_MessageNamesOption(string option)
    {
        var options = new CacheRegionOptions { Name = "r", StaleWindow = TimeSpan.FromMinutes(1) };
        switch (option)
        {
            case "MaxStaleness": options.MaxStaleness = TimeSpan.FromMinutes(2); break; // more than the stale window
            case "Expiration": options.Expiration = TimeSpan.FromSeconds(-5); break;
            case "LockTimeout": options.LockTimeout = TimeSpan.Zero; break;
            case "EarlyRefreshRatio": options.EarlyRefreshRatio = 1.5; break;
            case "EarlyExpirationBeta": options.EarlyExpirationBeta = -1; break;
            case "RefreshFailureMaxBackoff": options.RefreshFailureMaxBackoff = TimeSpan.FromSeconds(1); break;
            case "MaxConcurrentRefreshes": options.MaxConcurrentRefreshes = 0; break;
            case "Name": options.Name = " "; break;
        }

        var ex = Assert.Throws<ArgumentException>(() => new CacheRegion(options));
        Assert.Contains(option, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NeverExpiringRegionWithEarlyRefresh_Contradiction_Rejected()
    {
        var options = new CacheRegionOptions { Name = "r", Expiration = CacheRegionOptions.NeverExpires, EarlyRefreshRatio = 0.5 };
        Assert.Contains("finite Expiration", Assert.Throws<ArgumentException>(() => new CacheRegion(options)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorruptPayload_CountsAsMissAndIsLogged_NeverCrashes()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(backend: backend);
        backend.Corrupt("k", Encoding.UTF8.GetBytes("definitely not an envelope"));

        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        Assert.Equal("recreated", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("recreated")));
        Assert.True(t.Region.GetStatistics().UnreadableEntries >= 1);
    }

    [Fact]
    public async Task PayloadOfWrongShape_CountsAsMiss()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(backend: backend);
        await t.Region.SetAsync("k", "a string, not a record");

        Assert.False((await t.Region.GetAsync<Poco>("k")).HasValue);
        Poco created = await t.Region.GetOrCreateAsync("k", _ => new ValueTask<Poco>(new Poco("x", 1)));
        Assert.Equal(new Poco("x", 1), created);
        Assert.Equal(new Poco("x", 1), (await t.Region.GetAsync<Poco>("k")).Value);
    }

    [Fact]
    public async Task TruncatedEnvelopes_AllCountAsMisses()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(backend: backend);
        await t.Region.SetAsync("k", new Poco("name", 42));
        byte[] valid = backend.Raw("k")!;

        for (int length = 0; length < valid.Length; length++)
        {
            backend.Corrupt("k", valid[..length]);
            Assert.False((await t.Region.GetAsync<Poco>("k")).HasValue);
        }
    }

    [Fact]
    public async Task ValueOverBackendLimit_CreatedValueReturnedButNotWritten_DirectSetThrowsClearly()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System, maxValueBytes: 100);
        await using var t = new TestRegion(backend: backend);

        Assert.Equal(500, (await t.Region.GetOrCreateAsync("big", _ => new ValueTask<string>(new string('x', 500)))).Length);
        var ex = await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await t.Region.SetAsync("other", new string('x', 500)));
        Assert.Equal(100, ex.Limit);
        Assert.Empty(backend.Keys);
    }

    [Fact]
    public async Task CreatorNull_ClearException()
    {
        await using var t = new TestRegion();
        Assert.Throws<ArgumentNullException>(() => { _ = t.Region.GetOrCreateAsync<string>("k", null!); });
    }

    public sealed record Poco(string Name, int Count);
}
