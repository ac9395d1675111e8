using System.Text;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

public sealed class RedisBackendConformanceTests(RedisServer server) : CacheBackendConformanceTests, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly DogpileRedis _redis = TestRedis.Create(server);

    protected override ICacheBackend CreateBackend() => _redis.Backend;

    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _redis.DisposeAsync();
}

public sealed class RedisBackendTests(RedisServer server) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly DogpileRedis _redis = TestRedis.Create(server, o => o.MaxValueBytes = 1024);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private static CacheEntry Entry(string text, TimeSpan? expiration = null)
        => new(Encoding.UTF8.GetBytes(text), 638_000_000_000_000_000, expiration ?? TimeSpan.FromMinutes(1), TimeSpan.Zero);

    [Fact]
    public async Task Set_StoresEnvelopeUnderHashTaggedKeyWithTheGivenTtl()
    {
        await _redis.Backend.SetAsync("region:item", Entry("hello"), TimeSpan.FromSeconds(90), CancellationToken.None);

        IDatabase db = await _redis.DbAsync();
        RedisKey raw = $"{_redis.Options.KeyPrefix}:{{region:item}}:v";
        byte[] stored = (byte[])(await db.StringGetAsync(raw))!;
        Assert.Equal(Entry("hello").ToBytes(), stored);
        TimeSpan? ttl = await db.KeyTimeToLiveAsync(raw);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(85), TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task Set_OversizedValue_ThrowsAndWritesNothing()
    {
        var ex = await Assert.ThrowsAsync<CacheValueTooLargeException>(async () =>
            await _redis.Backend.SetAsync("big", Entry(new string('x', 2000)), TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Equal(1024, ex.Limit);
        Assert.Null(await _redis.Backend.GetAsync("big", CancellationToken.None));
    }

    [Fact]
    public async Task SetMany_OneOversizedValue_WritesNothing()
    {
        await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await _redis.Backend.SetManyAsync(
            [new CacheWrite("small", Entry("ok"), TimeSpan.FromMinutes(1)), new CacheWrite("huge", Entry(new string('x', 2000)), TimeSpan.FromMinutes(1))],
            CancellationToken.None));

        Assert.Null(await _redis.Backend.GetAsync("small", CancellationToken.None));
    }

    [Fact]
    public async Task Region_OversizedValue_ThrowsClearExceptionAndCachesNothing()
    {
        await using CacheRegion region = TestRedis.Region(_redis);
        await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await region.SetAsync("big", new string('y', 5000)));
        Assert.False((await region.GetAsync<string>("big")).HasValue);
    }

    [Fact]
    public async Task CorruptEntry_GetThrowsSerializationError_GetManyReturnsNull()
    {
        IDatabase db = await _redis.DbAsync();
        await db.StringSetAsync($"{_redis.Options.KeyPrefix}:{{bad}}:v", "not an envelope");
        await _redis.Backend.SetAsync("good", Entry("fine"), TimeSpan.FromMinutes(1), CancellationToken.None);

        await Assert.ThrowsAsync<CacheSerializationException>(async () => await _redis.Backend.GetAsync("bad", CancellationToken.None));
        CacheEntry?[] many = await _redis.Backend.GetManyAsync(["bad", "good"], CancellationToken.None);
        Assert.Null(many[0]);
        Assert.NotNull(many[1]);
    }

    [Fact]
    public async Task Region_CorruptEntry_CountsAsMissAndIsRecreated()
    {
        await using CacheRegion region = TestRedis.Region(_redis, "corrupt");
        IDatabase db = await _redis.DbAsync();
        await db.StringSetAsync($"{_redis.Options.KeyPrefix}:{{corrupt:k}}:v", new byte[] { 1, 2, 3 });

        string value = await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("new"));

        Assert.Equal("new", value);
        Assert.Equal("new", (await region.GetAsync<string>("k")).Value);
    }
}
