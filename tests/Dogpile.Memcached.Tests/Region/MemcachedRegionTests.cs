using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>A <see cref="CacheRegion"/> over the memcached backend and lock, end to end against a real server.</summary>
public sealed class MemcachedRegionTests(MemcachedServer server) : IClassFixture<MemcachedServer>, IAsyncLifetime
{
    private readonly MemcachedCacheBackend _backend = new(new MemcachedClientOptions { Servers = { server.Endpoint } });
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly string _prefix = $"r{Guid.NewGuid():N}:";
    private MemcachedLockProvider _locks = null!;
    private CacheRegion _region = null!;

    public Task InitializeAsync()
    {
        _locks = new MemcachedLockProvider(_backend);
        // The region's freshness runs on a fake clock; memcached keeps entries for expiration + stale window (over an
        // hour), so moving the fake clock makes values stale without waiting. The lock waits on real time.
        _region = new CacheRegion(
            new CacheRegionOptions
            {
                Name = "memcached",
                Backend = _backend,
                LockProvider = _locks,
                KeyPrefix = _prefix,
                Expiration = TimeSpan.FromMinutes(1),
                LockTimeout = TimeSpan.FromSeconds(10),
            },
            _time);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _region.DisposeAsync();
        _backend.Dispose();
    }

    [Fact]
    public async Task GetOrCreate_Missing_CreatesOnceStoresInMemcachedAndServesHits()
    {
        int calls = 0;
        ValueTask<string> Create(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<string>("kernel bugs");
        }

        string[] values = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _region.GetOrCreateAsync("kernel", Create).AsTask()));

        Assert.All(values, v => Assert.Equal("kernel bugs", v));
        Assert.Equal(1, calls);
        Assert.Equal("kernel bugs", await _region.GetOrCreateAsync("kernel", Create));
        Assert.Equal(1, calls);
        var raw = await _backend.Client.GetAsync(_prefix + "kernel");
        Assert.True(raw.Found);
        Assert.Equal("\"kernel bugs\"", System.Text.Encoding.UTF8.GetString(CacheEntry.FromBytes(raw.Value).Payload.Span));
        Assert.False((await _backend.Client.GetAsync(_locks.LockKeyFor(_prefix + "kernel"))).Found); // lock released
    }

    [Fact]
    public async Task Stale_LockHeldByAnotherProcess_ServesStaleWithoutCreating()
    {
        await _region.SetAsync("k", "old");
        _time.Advance(TimeSpan.FromMinutes(2));
        await using ICacheLock? elsewhere = await _locks.TryAcquireAsync(_prefix + "k", CancellationToken.None);
        Assert.NotNull(elsewhere);

        string value = await _region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run"));

        Assert.Equal("old", value);
    }

    [Fact]
    public async Task Stale_LockFree_OneCallerRefreshes()
    {
        await _region.SetAsync("k", "old");
        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal("new", await _region.GetOrCreateAsync("k", _ => new ValueTask<string>("new")));
        Assert.Equal("new", (await _region.GetAsync<string>("k")).Value);
    }

    [Fact]
    public async Task CorruptBytesInMemcached_CountAsMiss_AndAreRecreated()
    {
        await _backend.Client.SetAsync(_prefix + "corrupt", new byte[] { 0xD6, 0x01, 0xFF, 0x00, 0x42 }, 0, TimeSpan.FromMinutes(1));
        await _backend.Client.SetAsync(_prefix + "garbage", "<html>oops</html>"u8.ToArray(), 0, TimeSpan.FromMinutes(1));

        Assert.False((await _region.GetAsync<string>("corrupt")).HasValue);
        Assert.Equal("fresh", await _region.GetOrCreateAsync("corrupt", _ => new ValueTask<string>("fresh")));
        Assert.Equal(["fresh", "again"], await _region.GetOrCreateManyAsync<string>(
            ["corrupt", "garbage"], (keys, _) => new ValueTask<IReadOnlyList<string>>(keys.Select(_ => "again").ToArray())));

        Assert.Equal("again", (await _region.GetAsync<string>("garbage")).Value);
        CacheEntry.FromBytes((await _backend.Client.GetAsync(_prefix + "corrupt")).Value); // a valid envelope again
    }

    [Fact]
    public async Task OversizedValue_ReturnedToEveryCaller_NothingWritten_LockReleased_NoUpstreamStorm()
    {
        // Over memcached's 1 MiB item limit: it was created, so its callers get it; it cannot be cached there, so it is
        // held in the process instead of being created again by every request (205 requests once made 55 upstream calls).
        string huge = new('x', 2 * 1024 * 1024);
        int calls = 0;
        ValueTask<string> Create(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<string>(huge);
        }

        string[] first = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _region.GetOrCreateAsync("huge", Create).AsTask()));
        for (int i = 0; i < 155; i++)
        {
            Assert.Same(huge, await _region.GetOrCreateAsync("huge", Create));
        }

        Assert.All(first, v => Assert.Same(huge, v));
        Assert.Equal(1, calls);
        Assert.Equal(1, _region.GetStatistics().ValuesNotStored);
        Assert.False((await _backend.Client.GetAsync(_prefix + "huge")).Found);
        Assert.False((await _backend.Client.GetAsync(_locks.LockKeyFor(_prefix + "huge"))).Found);

        // A direct set asks for storage explicitly: it fails clearly; a smaller value then replaces the held one.
        await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await _region.SetAsync("huge", huge));
        await _region.SetAsync("huge", "small");
        Assert.Equal("small", await _region.GetOrCreateAsync("huge", Create));
        Assert.True((await _backend.Client.GetAsync(_prefix + "huge")).Found);
    }

    [Theory]
    [InlineData("a key with spaces")]
    [InlineData("line\r\nbreak")]
    [InlineData("ключ/юникод")]
    [InlineData(null)] // a 300-character key
    [InlineData("")] // exactly 250 bytes with the prefix: fits alone, and must also fit prefixed
    public async Task UnsafeOrLongKeys_AreMangled_AndWorkThroughTheRegion(string? key)
    {
        key = key switch
        {
            null => new string('k', 300),
            "" => new string('e', 250 - _prefix.Length),
            _ => key,
        };

        Assert.Equal("v:" + key, await _region.GetOrCreateAsync(key, _ => new ValueTask<string>("v:" + key)));
        Assert.Equal("v:" + key, (await _region.GetAsync<string>(key)).Value);
        Assert.Equal("v:" + key, (await _region.GetManyAsync<string>([key]))[0].Value);
        Assert.True(await _region.RemoveAsync(key));

        // With the region prefix, a 250 - prefix byte key is kept readable; a longer one is hashed whole.
        string stored = _backend.DefaultKeyMangler(_prefix + key);
        Assert.True(stored.Length <= 250);
    }

    [Fact]
    public async Task Keys_OnlyPrefixLongStillFit_AreKeptReadable()
    {
        string key = new('e', 250 - _prefix.Length);
        await _region.SetAsync(key, "v");
        Assert.True((await _backend.Client.GetAsync(_prefix + key)).Found);

        string longer = key + "x";
        await _region.SetAsync(longer, "w");
        Assert.StartsWith("sha256:", _backend.DefaultKeyMangler(_prefix + longer), StringComparison.Ordinal);
        Assert.True((await _backend.Client.GetAsync(_backend.DefaultKeyMangler(_prefix + longer))).Found);
    }
}
