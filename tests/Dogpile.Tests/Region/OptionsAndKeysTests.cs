using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

public sealed class OptionsAndKeysTests
{
    [Fact]
    public async Task PerCallExpiration_OverridesRegionDefault()
    {
        await using var t = new TestRegion();
        await t.Region.GetOrCreateAsync("short", _ => new ValueTask<string>("v"), new CacheEntryOptions { Expiration = TimeSpan.FromSeconds(5) });
        await t.Region.GetOrCreateAsync("default", _ => new ValueTask<string>("v"));

        t.Time.Advance(TimeSpan.FromSeconds(6));

        Assert.False((await t.Region.GetAsync<string>("short")).HasValue);
        Assert.True((await t.Region.GetAsync<string>("default")).HasValue);
        Assert.Equal(TimeSpan.FromSeconds(5), (await t.Region.GetItemAsync<string>("short"))!.Value.Expiration);
    }

    [Fact]
    public async Task NeverExpires_StaysFreshForever()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "forever", CacheEntryOptions.NeverExpire);
        t.Time.Advance(TimeSpan.FromDays(3650));
        CacheItem<string> item = (await t.Region.GetItemAsync<string>("k"))!.Value;
        Assert.False(item.IsStale);
        Assert.Null(item.Expiration);
        Assert.Equal(TimeSpan.FromDays(3650), item.Age);
    }

    [Fact]
    public async Task ShouldCache_DeclinedValueIsReturnedButNotStored()
    {
        await using var t = new TestRegion();
        var options = new CacheEntryOptions { ShouldCache = v => v is string s && !s.StartsWith("error", StringComparison.Ordinal) };
        int calls = 0;
        ValueTask<string> Create(CancellationToken ct) => new(++calls == 1 ? "error: try later" : "good");

        Assert.Equal("error: try later", await t.Region.GetOrCreateAsync("k", Create, options));
        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        Assert.Equal("good", await t.Region.GetOrCreateAsync("k", Create, options));
        Assert.Equal("good", await t.Region.GetOrCreateAsync("k", Create, options));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task KeyPrefixAndMangler_AppliedOnlyAtBackendBoundary()
    {
        var chaos = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System));
        await using var t = new TestRegion(o =>
        {
            o.KeyPrefix = "bugs/";
            o.KeyMangler = k => k.ToUpperInvariant();
        }, chaos);

        await t.Region.SetAsync("kernel", "v");

        Assert.Equal("bugs/KERNEL", Assert.Single(chaos.WrittenKeys));
        Assert.Equal("v", (await t.Region.GetAsync<string>("kernel")).Value);
        Assert.True(await t.Region.RemoveAsync("kernel"));
    }

    [Fact]
    public async Task BackendDefaultMangler_SeesThePrefixedKey_SoPrefixedKeysKeepToTheBackendLimit()
    {
        var backend = new ManglingBackend(new MemoryCacheBackend(100, TimeProvider.System), maxKeyLength: 20);
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "m", Backend = backend, KeyPrefix = "bugs/" });

        await region.SetAsync("kernel", "short");
        await region.SetAsync(new string('k', 18), "long"); // fits alone, not with the prefix

        Assert.Equal(["bugs/kernel", "hashed"], backend.Inner.WrittenKeys);
        Assert.Equal("long", (await region.GetAsync<string>(new string('k', 18))).Value);
    }

    private sealed class ManglingBackend(MemoryCacheBackend inner, int maxKeyLength) : ICacheBackend
    {
        public ChaosBackend Inner { get; } = new(inner);

        public bool StoresObjects => true;

        public int MaxKeyLength => maxKeyLength;

        public Func<string, string>? DefaultKeyMangler => key => key.Length <= maxKeyLength ? key : "hashed";

        public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => Inner.GetAsync(key, cancellationToken);

        public ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => Inner.GetManyAsync(keys, cancellationToken);

        public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken) => Inner.SetAsync(key, entry, timeToLive, cancellationToken);

        public ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken) => Inner.SetManyAsync(entries, cancellationToken);

        public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken) => Inner.RemoveAsync(key, cancellationToken);

        public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => Inner.RemoveManyAsync(keys, cancellationToken);
    }

    [Fact]
    public async Task SharedBackend_PrefixesKeepRegionsApart()
    {
        var shared = new MemoryCacheBackend(100, TimeProvider.System);
        await using var a = new CacheRegion(new CacheRegionOptions { Name = "a", Backend = shared, KeyPrefix = "a:" });
        await using var b = new CacheRegion(new CacheRegionOptions { Name = "b", Backend = shared, KeyPrefix = "b:" });

        await a.SetAsync("k", "from a");
        await b.SetAsync("k", "from b");

        Assert.Equal("from a", (await a.GetAsync<string>("k")).Value);
        Assert.Equal("from b", (await b.GetAsync<string>("k")).Value);
    }

    [Fact]
    public void HashIfUnsafe_KeepsSafeKeysAndHashesTheRest()
    {
        Func<string, string> mangler = KeyManglers.HashIfUnsafe(250);
        Assert.Equal("bugs:kernel", mangler("bugs:kernel"));
        Assert.StartsWith("sha256:", mangler("has space"), StringComparison.Ordinal);
        Assert.StartsWith("sha256:", mangler(new string('x', 251)), StringComparison.Ordinal);
        Assert.StartsWith("sha256:", mangler("ctrl\u0001"), StringComparison.Ordinal);
        Assert.NotEqual(mangler("a b"), mangler("a  b"));
    }

    [Fact]
    public async Task GetItem_ReportsCreatedAgeAndStaleness()
    {
        await using var t = new TestRegion();
        DateTimeOffset created = t.Time.GetUtcNow();
        await t.Region.SetAsync("k", 42);
        t.Time.Advance(TimeSpan.FromSeconds(10));

        CacheItem<int> fresh = (await t.Region.GetItemAsync<int>("k"))!.Value;
        Assert.Equal(42, fresh.Value);
        Assert.Equal(created, fresh.Created);
        Assert.Equal(TimeSpan.FromSeconds(10), fresh.Age);
        Assert.False(fresh.IsStale);
        Assert.Equal(CacheItemSource.Hit, fresh.Source);

        t.Time.Advance(TimeSpan.FromMinutes(1));
        CacheItem<int> stale = (await t.Region.GetItemAsync<int>("k"))!.Value;
        Assert.True(stale.IsStale);
        Assert.Equal(CacheItemSource.Stale, stale.Source);
        Assert.False((await t.Region.GetAsync<int>("k")).HasValue);
    }

    [Fact]
    public async Task GetOrCreateItem_ReportsMissThenHit()
    {
        await using var t = new TestRegion();
        CacheItem<string> miss = await t.Region.GetOrCreateItemAsync("k", "state", static (s, _) => new ValueTask<string>(s));
        CacheItem<string> hit = await t.Region.GetOrCreateItemAsync("k", "state", static (s, _) => new ValueTask<string>(s));
        Assert.Equal(CacheItemSource.Miss, miss.Source);
        Assert.Equal(CacheItemSource.Hit, hit.Source);
    }

    [Fact]
    public async Task SerializedBackend_RoundTripsPocosAndNulls()
    {
        await using var t = new TestRegion(backend: new BytesMemoryBackend(TimeProvider.System));
        var value = new BadInputTests.Poco("kernel", 1500);
        Assert.Equal(value, await t.Region.GetOrCreateAsync("p", _ => new ValueTask<BadInputTests.Poco>(value)));
        Assert.Equal(value, (await t.Region.GetAsync<BadInputTests.Poco>("p")).Value);
        Assert.Null(await t.Region.GetOrCreateAsync<string?>("n", _ => new ValueTask<string?>((string?)null)));
        Assert.True((await t.Region.GetAsync<string?>("n")).HasValue);
    }

    [Fact]
    public async Task BackendWriteFails_CreatedValueStillReturned()
    {
        var chaos = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System)) { FailWrites = true };
        await using var t = new TestRegion(backend: chaos);
        Assert.Equal("v", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v")));
    }

    [Fact]
    public async Task MemoryBackend_BoundedByEntryCount()
    {
        var backend = new MemoryCacheBackend(100, TimeProvider.System);
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "lru", Backend = backend });
        for (int i = 0; i < 1000; i++)
        {
            await region.SetAsync($"k{i}", i);
        }

        Assert.InRange(backend.Count, 1, 100);
        Assert.True((await region.GetAsync<int>("k999")).HasValue);
    }
}
