using System.Text.Json;
using System.Text.Json.Serialization;
using Dogpile.Testing;

namespace Dogpile.Tests.Docs;

// --- docs/serialization.md ---
public sealed record BugReport(int Id, string Title, string[] Tags);
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BugReport))]
[JsonSerializable(typeof(List<BugReport>))]
[JsonSerializable(typeof(int))]   // a cached function's argument (its key and its queued refresh)
public sealed partial class BugsJsonContext : JsonSerializerContext;
// --- end ---

/// <summary>docs/serialization.md: a source-generated context serializes every cached value, with no reflection fallback.</summary>
public sealed class SerializationDocTests
{
    private sealed record NotInTheContext(string Name);

    private int _fetches;

    private ValueTask<BugReport> FetchBugAsync(int id, CancellationToken ct)
    {
        Interlocked.Increment(ref _fetches);
        return new(new BugReport(id, "crash on start", ["kernel", "boot"]));
    }

    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(DocPages.Read("docs/serialization.md"));
        Assert.Equal(2, blocks.Count);
        Assert.Equal(blocks, DocPages.MarkedCode("docs/serialization.md"));
    }

    [Fact]
    public async Task SourceGeneratedContext_ValueRoundTripsThroughTheBackendsBytes()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);

        // --- docs/serialization.md ---
        await using var bugs = new CacheRegion(new CacheRegionOptions
        {
            Name = "bugs",
            Backend = backend,   // any byte-oriented backend: DogpileRedis.Backend, DogpileMemcached.Backend, a DistributedCacheBackend
            Serializer = new SystemTextJsonCacheSerializer(BugsJsonContext.Default.Options),
        });
        BugReport bug = await bugs.GetOrCreateAsync("1", ct => FetchBugAsync(1, ct));
        // --- end ---

        // A second region over the same bytes must deserialize what the first wrote.
        await using var reader = new CacheRegion(new CacheRegionOptions
        {
            Name = "bugs",
            Backend = backend,
            Serializer = new SystemTextJsonCacheSerializer(BugsJsonContext.Default.Options),
        });
        CacheResult<BugReport> read = await reader.GetAsync<BugReport>("1");

        Assert.True(read.HasValue);
        Assert.Equal(bug.Title, read.Value.Title);
        Assert.Equal(["kernel", "boot"], read.Value.Tags);
        Assert.Equal(1, _fetches);
    }

    [Fact]
    public async Task SourceGeneratedContext_CachedFunctionArgumentsAreSerializedByTheContextToo()
    {
        await using var bugs = new CacheRegion(new CacheRegionOptions
        {
            Name = "bugs",
            Backend = new BytesMemoryBackend(TimeProvider.System),
            Serializer = new SystemTextJsonCacheSerializer(BugsJsonContext.Default.Options),
        });
        CachedFunction<int, BugReport> bugById = bugs.CreateFunction<int, BugReport>("bug", FetchBugAsync);

        Assert.Equal(7, (await bugById.InvokeAsync(7)).Id);
        Assert.Equal(7, (await bugById.InvokeAsync(7)).Id);
        Assert.Equal(1, _fetches);
    }

    [Fact]
    public void ContextOptions_TypeOutsideTheContext_ThrowsInsteadOfFallingBackToReflection()
    {
        var serializer = new SystemTextJsonCacheSerializer(BugsJsonContext.Default.Options);

        // Reflection would serialize this record happily (the default serializer does); the context alone cannot.
        var ex = Assert.Throws<NotSupportedException>(() => serializer.Serialize(new NotInTheContext("x"), new System.Buffers.ArrayBufferWriter<byte>()));
        Assert.Contains(nameof(NotInTheContext), ex.Message, StringComparison.Ordinal);
        Assert.Same(BugsJsonContext.Default, BugsJsonContext.Default.Options.TypeInfoResolver);
    }
}
