using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Tests.Docs;

/// <summary>docs/hybridcache.md: its code runs as written, and its tables cover every flag.</summary>
public sealed class HybridCacheDocTests
{
    private static ValueTask<string> FetchSummaryAsync(string package, CancellationToken ct) => new($"{package}: the Linux kernel");

    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(DocPages.Read("docs/hybridcache.md"));
        Assert.Equal(2, blocks.Count);
        Assert.Equal(blocks, DocPages.MarkedCode("docs/hybridcache.md"));
    }

    [Fact]
    public async Task RegistrationAndUse_RunAsWritten()
    {
        // --- docs/hybridcache.md ---
        var services = new ServiceCollection();
        services.AddDogpileHybridCache(o =>              // the region "hybrid"; AddDogpileHybridCache("name", ...) for another
        {
            o.Expiration = TimeSpan.FromMinutes(5);     // HybridCacheEntryOptions.Expiration overrides it per call
            o.StaleWindow = TimeSpan.FromHours(1);      // how long an expired value may still be served
            o.BackgroundRefresh = true;                 // expired values are served at once while one refresh runs
        });
        // --- end ---
        await using ServiceProvider provider = services.BuildServiceProvider();

        // --- docs/hybridcache.md ---
        HybridCache cache = provider.GetRequiredService<HybridCache>();
        string summary = await cache.GetOrCreateAsync(
            "summary:kernel",
            async ct => await FetchSummaryAsync("kernel", ct),
            new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10) },
            tags: ["package:kernel"]);
        await cache.SetAsync("summary:bash", "bash: the GNU shell", tags: ["package:bash"]);
        await cache.RemoveAsync("summary:bash");
        await cache.RemoveByTagAsync("package:kernel");   // every value tagged package:kernel
        await cache.RemoveByTagAsync("*");                // everything: a hard invalidation of the region
        // --- end ---

        Assert.Equal("kernel: the Linux kernel", summary);
        CacheRegion region = provider.GetRequiredKeyedService<CacheRegion>("hybrid");
        Assert.Equal(TimeSpan.FromMinutes(5), region.DefaultExpiration);
        Assert.Null(await region.GetItemAsync<string>("summary:kernel"));
    }

    [Fact]
    public void FlagsTable_HasARowForEveryFlag()
    {
        string section = DocPages.Section(DocPages.Read("docs/hybridcache.md"), "Flags");
        string[] missing = [.. Enum.GetNames<HybridCacheEntryFlags>().Where(f => f != "None" && !section.Contains($"\n| `{f}` |", StringComparison.Ordinal))];
        Assert.True(missing.Length == 0, "docs/hybridcache.md, Flags: no row for " + string.Join(", ", missing));
    }
}
