using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Tags;

public sealed class TagInvalidationTests
{
    private static CacheEntryOptions Tagged(params string[] tags) => new() { Tags = tags };

    [Fact]
    public async Task HardTagInvalidation_TaggedValuesMissing_UntaggedAndOtherTagsKept()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("a", "a1", Tagged("product:1"));
        await t.Region.SetAsync("b", "b1", Tagged("product:2", "catalog"));
        await t.Region.SetAsync("c", "c1");

        await t.Region.InvalidateTagAsync("product:1");

        Assert.False((await t.Region.GetAsync<string>("a")).HasValue);
        Assert.Null(await t.Region.GetItemAsync<string>("a"));
        Assert.Equal("b1", (await t.Region.GetAsync<string>("b")).Value);
        Assert.Equal("c1", (await t.Region.GetAsync<string>("c")).Value);
        Assert.Equal("a2", await t.Region.GetOrCreateAsync("a", _ => new ValueTask<string>("a2"), Tagged("product:1")));
        Assert.Equal("a2", (await t.Region.GetAsync<string>("a")).Value);
    }

    [Fact]
    public async Task ManyDistinctTagsInvalidated_MarksStayBounded_OldTaggedValuesStayInvalidated_NewOnesServe()
    {
        // Per-user tags: one invalidation per user, more users than the marks kept one by one.
        await using var t = new TestRegion();
        await t.Region.SetAsync("profile:0", "old profile", Tagged("user:0"));
        await t.Region.SetAsync("plain", "untagged");
        int tags = Dogpile.Engine.TagMarks.DefaultCapacity + 1_000;
        for (int i = 0; i < tags; i++)
        {
            await t.Region.InvalidateTagAsync($"user:{i}");
        }

        await t.Region.SetAsync("profile:1", "new profile", Tagged("user:1"));

        Assert.InRange(t.Region.TagMarkCount, 1, Dogpile.Engine.TagMarks.DefaultCapacity);
        Assert.False((await t.Region.GetAsync<string>("profile:0")).HasValue);
        Assert.Equal("new profile", (await t.Region.GetAsync<string>("profile:1")).Value);
        Assert.Equal("untagged", (await t.Region.GetAsync<string>("plain")).Value);
    }

    [Fact]
    public async Task TagInvalidation_ClockNotMoving_CatchesValuesOfTheSameTickButNotLaterOnes()
    {
        // The fake clock never moves: marks and created times must still be strictly ordered (InvalidationMarks.Next).
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "v1", Tagged("t"));
        await t.Region.InvalidateTagAsync("t");
        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);

        await t.Region.SetAsync("k", "v2", Tagged("t"));
        Assert.Equal("v2", (await t.Region.GetAsync<string>("k")).Value);

        await t.Region.InvalidateTagAsync("t");
        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        RegionInvalidation first = t.Region.TagMarksOf("t");
        await t.Region.InvalidateTagAsync("t");
        Assert.True(t.Region.TagMarksOf("t").HardUtcTicks > first.HardUtcTicks);
    }

    [Fact]
    public async Task SoftTagInvalidation_TaggedValueServedStaleWhileOneRefreshRuns()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old", Tagged("t"));

        await t.Region.InvalidateTagAsync("t", InvalidationMode.Soft);

        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        Assert.True((await t.Region.GetItemAsync<string>("k"))!.Value.IsStale);
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();
        string[] served = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => t.Region.GetOrCreateAsync("k", creator.CreateAsync, Tagged("t")).AsTask()));
        Assert.All(served, v => Assert.Equal("old", v));
        await creator.Started.Task;
        creator.Release();
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "new", "the soft-invalidated tagged value was refreshed");
        Assert.Equal(1, creator.Calls);
    }

    [Fact]
    public async Task TagInvalidation_InlinedHitPath_DoesNotServeInvalidatedValue()
    {
        await using var t = new TestRegion();
        var creator = new ControlledCreator<string>(n => "v" + n);
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", creator.CreateAsync, Tagged("t")));

        // Options null: the inlined memory hit, which must check the entry's tags.
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", 0, static (_, _) => new ValueTask<string>("unused")));
        await t.Region.InvalidateTagAsync("t");
        Assert.Equal("v2", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(2, creator.Calls);
    }

    [Fact]
    public async Task TagInvalidation_ByteBackend_TagsTravelInTheEnvelope()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        await using var t = new TestRegion(backend: new BytesMemoryBackend(time));
        await t.Region.SetAsync("k", "v", Tagged("x", "y"));
        await t.Region.SetAsync("u", "u");

        await t.Region.InvalidateTagAsync("y");

        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        Assert.Equal("u", (await t.Region.GetAsync<string>("u")).Value);
    }

    [Fact]
    public async Task SetMany_WithTags_TagsEveryValue()
    {
        await using var t = new TestRegion();
        await t.Region.SetManyAsync<int>([new("a", 1), new("b", 2)], Tagged("batch"));
        await t.Region.InvalidateTagAsync("batch");
        Assert.False((await t.Region.GetAsync<int>("a")).HasValue);
        Assert.False((await t.Region.GetAsync<int>("b")).HasValue);
    }

    [Fact]
    public void Tags_TooMany_ClearArgumentException()
    {
        string[] tags = [.. Enumerable.Range(0, CacheEntryOptions.MaxTags + 1).Select(i => "t" + i)];
        var ex = Assert.Throws<ArgumentException>(() => new CacheEntryOptions { Tags = tags });
        Assert.Contains($"at most {CacheEntryOptions.MaxTags} tags", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("*")]
    [InlineData("a\nb")]
    public void Tags_Invalid_ClearArgumentException(string tag)
    {
        var ex = Assert.Throws<ArgumentException>(() => new CacheEntryOptions { Tags = [tag] });
        Assert.Contains("is not valid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tags_TooLongOrNull_Rejected_AtOptionsAndAtInvalidation()
    {
        string tooLong = new('x', CacheEntryOptions.MaxTagLength + 1);
        Assert.Throws<ArgumentException>(() => new CacheEntryOptions { Tags = [tooLong] });
        Assert.Throws<ArgumentNullException>(() => new CacheEntryOptions { Tags = [null!] });
        await using var t = new TestRegion();
        await Assert.ThrowsAsync<ArgumentException>(async () => await t.Region.InvalidateTagAsync(tooLong));
        Assert.Equal(1, new CacheEntryOptions { Tags = ["a", "a"] }.Tags!.Count);
        Assert.Equal(CacheEntryOptions.MaxTags, new CacheEntryOptions { Tags = [.. Enumerable.Range(0, CacheEntryOptions.MaxTags).Select(i => "t" + i)] }.Tags!.Count);
    }

    [Fact]
    public void Envelope_WithTags_RoundTrips_AndWithoutTagsStaysVersion1()
    {
        var entry = new CacheEntry(new byte[] { 1, 2, 3 }, 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero) { TagArray = ["ä-tag", "b"] };
        byte[] bytes = entry.ToBytes();
        Assert.Equal(2, bytes[1]);
        CacheEntry back = CacheEntry.FromBytes(bytes);
        Assert.Equal(["ä-tag", "b"], back.Tags);
        Assert.Equal(new byte[] { 1, 2, 3 }, back.Payload.ToArray());
        Assert.Equal(entry.CreatedUtcTicks, back.CreatedUtcTicks);

        byte[] plain = new CacheEntry(new byte[] { 1 }, 638_000_000_000_000_000, null, TimeSpan.Zero).ToBytes();
        Assert.Equal(CacheEntry.FormatVersion, plain[1]);
        Assert.Empty(CacheEntry.FromBytes(plain).Tags);
    }

    [Fact]
    public void Envelope_CorruptTagBlock_IsASerializationError()
    {
        byte[] bytes = new CacheEntry(new byte[] { 1 }, 638_000_000_000_000_000, null, TimeSpan.Zero) { TagArray = ["abc"] }.ToBytes();
        bytes[CacheEntry.HeaderSize + 1] = 0xFF; // tag length far past the end
        Assert.Throws<CacheSerializationException>(() => CacheEntry.FromBytes(bytes));
        bytes[CacheEntry.HeaderSize] = CacheEntryOptions.MaxTags + 1;
        Assert.False(CacheEntry.TryFromBytes(bytes, out _));
    }
}
