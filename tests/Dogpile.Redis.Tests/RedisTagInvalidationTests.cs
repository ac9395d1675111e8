using System.Text;
using Dogpile.Redis.Internal;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Redis.Tests;

public sealed class RedisTagInvalidationTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static CacheEntryOptions Tagged(params string[] tags) => new() { Tags = tags };

    [Fact]
    public async Task HardTagInvalidation_InOneProcess_ReachesTheOthers_AndNewSubscribersLoadIt()
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis first = TestRedis.Create(server, prefix: prefix);
        await using DogpileRedis second = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion a = TestRedis.Region(first, "tags");
        await using CacheRegion b = TestRedis.Region(second, "tags");
        await a.SetAsync("k", "v", Tagged("order:1", "orders"));
        await a.SetAsync("u", "u", Tagged("order:2"));
        Assert.True((await b.GetAsync<string>("k")).HasValue);

        await a.InvalidateTagAsync("order:1");

        Assert.False((await a.GetAsync<string>("k")).HasValue);
        await Eventually.TrueAsync(async () => !(await b.GetAsync<string>("k")).HasValue, "the other process sees the tag invalidation");
        Assert.Equal("u", (await b.GetAsync<string>("u")).Value);
        await using DogpileRedis third = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion c = TestRedis.Region(third, "tags");
        await Eventually.TrueAsync(async () => !(await c.GetAsync<string>("k")).HasValue, "a region started later loads the stored tag mark");
        Assert.Equal("u", (await c.GetAsync<string>("u")).Value);

        // A value created after the mark, in any process, is fresh everywhere.
        await b.SetAsync("k", "v2", Tagged("order:1"));
        Assert.Equal("v2", (await a.GetAsync<string>("k")).Value);
        Assert.Equal("v2", (await c.GetAsync<string>("k")).Value);
    }

    [Fact]
    public async Task SoftTagInvalidation_MakesTaggedValuesStaleElsewhere_AndStoredMarksOnlyGrow()
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis first = TestRedis.Create(server, prefix: prefix);
        await using DogpileRedis second = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion a = TestRedis.Region(first, "softtags");
        await using CacheRegion b = TestRedis.Region(second, "softtags");
        await a.SetAsync("k", "v", Tagged("t"));

        await a.InvalidateTagAsync("t", InvalidationMode.Soft);

        await Eventually.TrueAsync(async () => (await b.GetItemAsync<string>("k"))?.IsStale == true, "the tagged value is stale in the other process");
        await first.InvalidationStore.PublishTagAsync("softtags", "t", new RegionInvalidation(0, 1), CancellationToken.None);
        IReadOnlyDictionary<string, RegionInvalidation> stored = await ((RedisInvalidationStore)first.InvalidationStore).LoadTagsAsync("softtags", CancellationToken.None);
        Assert.True(stored["t"].SoftUtcTicks > 1);
        Assert.Equal(0, stored["t"].HardUtcTicks);
    }

    [Fact]
    public async Task TagInvalidation_FromTheAdmin_ReachesRunningRegions()
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis app = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion region = TestRedis.Region(app, "admintags");
        await region.SetAsync("k", "v", Tagged("t"));
        await Task.Delay(20); // the admin's mark is its clock's now: it must be later than the value's created time
        await using DogpileRedis ops = TestRedis.Create(server, prefix: prefix);

        await new DogpileRedisAdmin(ops).InvalidateTagAsync("admintags", "t", InvalidationMode.Hard);

        await Eventually.TrueAsync(async () => !(await region.GetAsync<string>("k")).HasValue, "the running region applies the admin's tag mark");
    }

    [Theory]
    [InlineData("r", "t")]
    [InlineData("région 1", "tag with spaces 7 8")]
    public void Announcement_AsTheScriptWritesIt_Parses(string region, string tag)
    {
        byte[] message = Encoding.UTF8.GetBytes($"12 34 {Encoding.UTF8.GetByteCount(region)} {region}{tag}");
        Assert.True(RedisInvalidationStore.TryParseAnnouncement(message, out string r, out string t, out RegionInvalidation marks));
        Assert.Equal((region, tag, new RegionInvalidation(12, 34)), (r, t, marks));
        Assert.False(RedisInvalidationStore.TryParseAnnouncement("12 x 1 rt"u8, out _, out _, out _));
        Assert.False(RedisInvalidationStore.TryParseAnnouncement("12 3 99 rt"u8, out _, out _, out _));
    }
}
