using System.Net;
using System.Text;
using Dogpile;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Packages.Tests.Web;

/// <summary>
/// Bytes in a shared cache that parse but are not a value the app would create (written by another build, another
/// writer, or anyone with access to redis): the app treats them as a miss and serves the real data from the tracker.
/// Payloads go straight into redis in the real envelope, under the key the app itself wrote.
/// </summary>
public sealed class CachedPayloadTests
{
    public static TheoryData<string> BugListGarbage => new()
    {
        "null",
        "{}",
        "[]",
        "42",
        """{"package":"kernel","exists":true,"bugs":[null]}""",
        """{"package":"kernel","exists":true}""",
        """{"package":"kernel","exists":"yes","bugs":[]}""",
        """{"package":"kernel","exists":true,"bugs":[{"id":1,"summary":null,"status":"NEW"}]}""",
        """{"package":"kernel","exists":true,"bugs":[{"id":1,"status":"NEW"}]}""",
        """{"package":null,"exists":true,"bugs":[]}""",
        """{"package":"<script>","exists":true,"bugs":[]}""",
        """{"package":"kernel","exists":false,"bugs":[{"id":1,"summary":"x","status":"NEW"}]}""",
    };

    public static TheoryData<string> PackageIndexGarbage => new()
    {
        "null",
        "{}",
        """{"names":null}""",
        """{"names":[null]}""",
        """{"names":["kernel",""]}""",
        """{"names":"kernel"}""",
    };

    [Theory]
    [MemberData(nameof(BugListGarbage))]
    public async Task GarbageUnderAPackagesBugKey_IsAMiss_PageAndApiServeTheRealBugs(string json)
    {
        await using var redis = ServerProcess.Redis();
        await redis.StartAsync();
        await using var web = await WebAppHarness.StartAsync(0, 300, WebAppHarness.RedisSettings(redis));
        var real = await web.GetReplyAsync("api/packages/kernel/bugs");
        Assert.Equal(HttpStatusCode.OK, real.Status);
        await using var store = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var key = SingleKey(store, "*kernel*:v");

        await PlantAsync(store, key, json);
        var api = await web.GetReplyAsync("api/packages/kernel/bugs");
        Assert.Equal(HttpStatusCode.OK, api.Status);
        Assert.Equal("miss", api.Cache);
        Assert.Equal(real.Body, api.Body);

        await PlantAsync(store, key, json);
        var page = await web.GetReplyAsync("packages/kernel/bugs");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("miss", page.Cache);
        Assert.Contains($"All ({real.BugCount()})", page.Body, StringComparison.Ordinal);

        // Each garbage read was a counted miss (the region reads the key again under the lock) that went back to the tracker.
        Assert.Equal(3, await web.UpstreamCallsAsync("kernel"));
        Assert.InRange(await web.MetricAsync("dogpile_unreadable_entries_total"), 2, 4);
    }

    [Theory]
    [MemberData(nameof(PackageIndexGarbage))]
    public async Task GarbageUnderThePackageListKey_IsAMiss_HomeAndSearchServeTheRealList(string json)
    {
        await using var redis = ServerProcess.Redis();
        await redis.StartAsync();
        await using var web = await WebAppHarness.StartAsync(0, 300, WebAppHarness.RedisSettings(redis));
        var real = await web.GetReplyAsync("api/packages?search=kern");
        Assert.Equal(HttpStatusCode.OK, real.Status);
        Assert.Contains("\"kernel\"", real.Body, StringComparison.Ordinal);
        await using var store = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var key = SingleKey(store, "*packages:all*:v");

        await PlantAsync(store, key, json);
        var search = await web.GetReplyAsync("api/packages?search=kern");
        Assert.Equal(HttpStatusCode.OK, search.Status);
        Assert.Equal("miss", search.Cache);
        Assert.Equal(real.Body, search.Body);

        await PlantAsync(store, key, json);
        var home = await web.GetReplyAsync("");
        Assert.Equal(HttpStatusCode.OK, home.Status);
        Assert.Equal("miss", home.Cache);
        Assert.Contains("<a href=\"/packages/kernel\">kernel</a>", home.Body, StringComparison.Ordinal);
        Assert.InRange(await web.MetricAsync("dogpile_unreadable_entries_total", "packages"), 2, 4);
    }

    /// <summary>The one redis key matching <paramref name="pattern"/>: the key the app wrote, whatever its layout.</summary>
    private static RedisKey SingleKey(ConnectionMultiplexer store, string pattern) =>
        Assert.Single(store.GetServer(store.GetEndPoints()[0]).Keys(pattern: pattern));

    /// <summary>Writes <paramref name="json"/> as a fresh entry in the envelope the backend stores.</summary>
    private static async Task PlantAsync(ConnectionMultiplexer store, RedisKey key, string json)
    {
        var entry = new CacheEntry(Encoding.UTF8.GetBytes(json), DateTime.UtcNow.Ticks, TimeSpan.FromMinutes(5), TimeSpan.Zero);
        Assert.True(await store.GetDatabase().StringSetAsync(key, entry.ToBytes(), TimeSpan.FromHours(1)));
    }
}
