using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Tests.Docs;

/// <summary>docs/migrating.md: each example runs as written, the Dogpile side and the one it replaces.</summary>
public sealed class MigratingDocTests
{
    private sealed record BugList(string Package, string[] Bugs);

    private int _fetches;

    private ValueTask<BugList> FetchBugsAsync(string package, CancellationToken ct)
    {
        Interlocked.Increment(ref _fetches);
        return new(new BugList(package, [$"{package}: it crashes"]));
    }

    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        string page = DocPages.Read("docs/migrating.md");
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(page);

        // Both sides of each example: IMemoryCache and FusionCache as well as Dogpile (FusionCache's runs in the Redis tests).
        Assert.Equal(5, blocks.Count);
        Assert.Equal(blocks.Order(StringComparer.Ordinal), DocPages.MarkedCode("docs/migrating.md").Order(StringComparer.Ordinal));
        Assert.DoesNotContain("```c#", page);
    }

    [Fact]
    public async Task FromMemoryCache_TheMemoryCacheSideRunsAsWritten()
    {
        var services = new ServiceCollection();
        // --- docs/migrating.md ---
        services.AddMemoryCache(o => o.SizeLimit = 10_000);   // every entry below has Size = 1: a count of entries

        await using ServiceProvider provider = services.BuildServiceProvider();   // in an app, the host does this
        IMemoryCache cache = provider.GetRequiredService<IMemoryCache>();
        BugList bugs = (await cache.GetOrCreateAsync("bugs:kernel", async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1);
            entry.Size = 1;
            return await FetchBugsAsync("kernel", CancellationToken.None);
        }))!;
        // --- end ---

        Assert.Equal("kernel", bugs.Package);
        Assert.Same(bugs, cache.Get<BugList>("bugs:kernel"));
        Assert.Equal(1, _fetches);
    }

    [Fact]
    public async Task FromMemoryCache_TheDogpileSideRunsAsWritten()
    {
        var services = new ServiceCollection();
        // --- docs/migrating.md ---
        services.AddDogpile().AddRegion("bugs", o =>
        {
            o.Expiration = TimeSpan.FromMinutes(1);
            o.Memory = new MemoryCacheBackendOptions { Capacity = 10_000 };
        });

        await using ServiceProvider provider = services.BuildServiceProvider();   // in an app, the host does this
        CacheRegion cache = provider.GetRequiredKeyedService<CacheRegion>("bugs");   // or [FromKeyedServices("bugs")]
        BugList bugs = await cache.GetOrCreateAsync("kernel", ct => FetchBugsAsync("kernel", ct));
        // --- end ---

        Assert.Equal("kernel", bugs.Package);
        Assert.Equal(TimeSpan.FromMinutes(1), cache.DefaultExpiration);
        Assert.IsType<MemoryCacheBackend>(cache.Backend);

        // --- docs/migrating.md ---
        var shortLived = new CacheEntryOptions { Expiration = TimeSpan.FromSeconds(10) };
        BugList latest = await cache.GetOrCreateAsync("rawhide", ct => FetchBugsAsync("rawhide", ct), shortLived);
        // --- end ---

        Assert.Equal("rawhide", latest.Package);
        Assert.Equal(TimeSpan.FromSeconds(10), (await cache.GetOrCreateItemAsync("rawhide", 0, (_, ct) => FetchBugsAsync("rawhide", ct))).Expiration);
        Assert.Equal(2, _fetches);
    }

    [Fact]
    public async Task FromFusionCache_TheDogpileSideRunsAsWritten()
    {
        var services = new ServiceCollection();
        // --- docs/migrating.md ---
        services.AddDogpile().AddRegion("bugs", o =>
        {
            o.Expiration = TimeSpan.FromMinutes(1);                 // Duration
            o.StaleWindow = TimeSpan.FromHours(1);                  // fail-safe: FailSafeMaxDuration
            o.RefreshFailureBackoff = TimeSpan.FromSeconds(30);     // FailSafeThrottleDuration (then doubling, capped)
            o.BackgroundRefresh = true;                             // nobody waits for a refresh once a value exists
            o.EarlyRefreshRatio = 0.8;                              // EagerRefreshThreshold (0.8 is already the default here)
        });

        await using ServiceProvider provider = services.BuildServiceProvider();   // in an app, the host does this
        CacheRegion cache = provider.GetRequiredKeyedService<CacheRegion>("bugs");   // or [FromKeyedServices("bugs")]
        BugList bugs = await cache.GetOrCreateAsync("kernel", ct => FetchBugsAsync("kernel", ct));
        // --- end ---

        Assert.Equal("kernel", bugs.Package);
        Assert.Equal(TimeSpan.FromMinutes(1), cache.DefaultExpiration);
        Assert.Same(bugs, await cache.GetOrCreateAsync("kernel", ct => FetchBugsAsync("kernel", ct)));
        Assert.Equal(1, _fetches);
    }
}
