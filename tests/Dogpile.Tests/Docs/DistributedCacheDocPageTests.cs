namespace Dogpile.Tests.Docs;

/// <summary>docs/distributed-cache.md: its code is the code the Redis tests run (tests/Dogpile.Redis.Tests/Docs).</summary>
public sealed class DistributedCacheDocPageTests
{
    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(DocPages.Read("docs/distributed-cache.md"));
        Assert.Equal(2, blocks.Count);
        Assert.Equal(blocks, DocPages.MarkedCode("docs/distributed-cache.md"));
    }
}
