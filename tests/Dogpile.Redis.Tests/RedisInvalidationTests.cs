using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Redis.Tests;

public sealed class RedisInvalidationTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public Task HardInvalidation_InOneProcess_ReachesTheOthers_AndNewSubscribersLoadIt()
        => HardInvalidationReachesEveryProcessAsync(server.ConnectionString);

    /// <summary>The scenario, on any deployment (the cluster tests run it too).</summary>
    internal static async Task HardInvalidationReachesEveryProcessAsync(string connectionString)
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis first = TestRedis.Create(connectionString, prefix: prefix);
        await using DogpileRedis second = TestRedis.Create(connectionString, prefix: prefix);
        await using CacheRegion a = TestRedis.Region(first, "inv");
        await using CacheRegion b = TestRedis.Region(second, "inv");
        await a.SetAsync("k", "v");
        Assert.True((await b.GetAsync<string>("k")).HasValue);
        await Task.Delay(20); // the mark must be later than the value's created time, at tick resolution

        await a.InvalidateAsync(InvalidationMode.Hard);

        await Eventually.TrueAsync(async () => !(await b.GetAsync<string>("k")).HasValue, "the other process sees the invalidation");
        await using DogpileRedis third = TestRedis.Create(connectionString, prefix: prefix);
        await using CacheRegion c = TestRedis.Region(third, "inv");
        await Eventually.TrueAsync(async () => !(await c.GetAsync<string>("k")).HasValue, "a region started later loads the stored mark");
    }

    [Fact]
    public async Task SoftInvalidation_MakesValuesStaleElsewhere_AndMarksOnlyGrow()
    {
        string prefix = TestRedis.NewPrefix();
        await using DogpileRedis first = TestRedis.Create(server, prefix: prefix);
        await using DogpileRedis second = TestRedis.Create(server, prefix: prefix);
        await using CacheRegion a = TestRedis.Region(first, "soft");
        await using CacheRegion b = TestRedis.Region(second, "soft");
        await a.SetAsync("k", "v");
        await Task.Delay(20);

        await a.InvalidateAsync(InvalidationMode.Soft);

        await Eventually.TrueAsync(async () => (await b.GetItemAsync<string>("k"))?.IsStale == true, "the value is stale in the other process");
        await first.InvalidationStore.PublishAsync("soft", new RegionInvalidation(0, 1), CancellationToken.None);
        RegionInvalidation stored = await ((Internal.RedisInvalidationStore)first.InvalidationStore).LoadAsync("soft", CancellationToken.None);
        Assert.True(stored.SoftUtcTicks > 1);
        Assert.Equal(0, stored.HardUtcTicks);
    }
}
