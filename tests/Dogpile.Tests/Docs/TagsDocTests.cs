namespace Dogpile.Tests.Docs;

/// <summary>docs/tags.md: its example runs as written and does what the page says.</summary>
public sealed class TagsDocTests
{
    private int _loads;

    private sealed record Product(int Id, int Version);

    private ValueTask<Product> LoadProductAsync(int id, CancellationToken ct) => new(new Product(id, Interlocked.Increment(ref _loads)));

    private static ValueTask<string> RenderHomeAsync(CancellationToken ct) => new("<html>home</html>");

    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(DocPages.Read("docs/tags.md"));
        Assert.Single(blocks);
        Assert.Equal(blocks, DocPages.MarkedCode("docs/tags.md"));
    }

    [Fact]
    public async Task Example_HardThenSoftTagInvalidation()
    {
        // --- docs/tags.md ---
        await using var catalog = new CacheRegion(new CacheRegionOptions { Name = "catalog" });
        var product42 = new CacheEntryOptions { Tags = ["product:42", "catalog"] };
        Product product = await catalog.GetOrCreateAsync("product:42", ct => LoadProductAsync(42, ct), product42);
        string home = await catalog.GetOrCreateAsync("page:home", ct => RenderHomeAsync(ct), new CacheEntryOptions { Tags = ["catalog"] });
        await catalog.SetAsync("price:42", 9.99m, new CacheEntryOptions { Tags = ["product:42"] });
        await catalog.InvalidateTagAsync("product:42");                       // hard: product 42's values count as missing
        await catalog.InvalidateTagAsync("catalog", InvalidationMode.Soft);   // soft: served stale while one refresh runs
        // --- end ---

        Assert.Equal(1, product.Version);
        Assert.Equal("<html>home</html>", home);
        Assert.Null(await catalog.GetItemAsync<Product>("product:42"));
        Assert.Null(await catalog.GetItemAsync<decimal>("price:42"));
        Assert.True((await catalog.GetItemAsync<string>("page:home"))!.Value.IsStale);
        Assert.Equal(2, (await catalog.GetOrCreateAsync("product:42", ct => LoadProductAsync(42, ct), product42)).Version);
    }
}
