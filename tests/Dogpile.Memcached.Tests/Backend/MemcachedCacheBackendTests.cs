using System.Text;
using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;

namespace Dogpile.Memcached.Tests.Backend;

/// <summary>memcached specifics beyond the shared contract: envelope bytes, size limits, keys, TTL rounding.</summary>
public sealed class MemcachedCacheBackendTests(MemcachedServer server) : IClassFixture<MemcachedServer>, IDisposable
{
    private readonly MemcachedCacheBackend _backend = new(new MemcachedClientOptions { Servers = { server.Endpoint } });

    private static string NewKey(string name) => $"be-{Guid.NewGuid():N}-{name}";

    private static CacheEntry Entry(string text) => new(Encoding.UTF8.GetBytes(text), 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero);

    [Fact]
    public async Task Set_StoresTheEnvelopeBytes_WithTheGivenTtlRoundedUpPlusOneSecond()
    {
        string key = NewKey("envelope");
        CacheEntry entry = Entry("v");

        await _backend.SetAsync(key, entry, TimeSpan.FromSeconds(41.2), CancellationToken.None);

        MemcachedGetResult raw = await _backend.Client.GetAsync(key);
        Assert.Equal(entry.ToBytes(), raw.Value.ToArray());
        Assert.InRange(raw.RemainingTtl!.Value, TimeSpan.FromSeconds(41), TimeSpan.FromSeconds(43));
    }

    [Fact]
    public async Task Set_ShortTtl_EntryLivesAtLeastThatLong_WhereverInMemcachedsSecondItIsStored()
    {
        // Ten writes spread over a second of memcached's clock, each read back half a second later, within its 1 s TTL.
        // Stored with a bare 1 s, an entry written just before the clock ticks expires at that tick: about half of these
        // would be gone (measured: a bare 1 s TTL kept entries 0.07-0.89 s).
        bool[] found = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            string key = NewKey("short-" + i);
            await Task.Delay(i * 100);
            await _backend.SetAsync(key, Entry("v"), TimeSpan.FromSeconds(1), CancellationToken.None);
            await Task.Delay(500);
            return await _backend.GetAsync(key, CancellationToken.None) is not null;
        }));

        Assert.All(found, Assert.True);
    }

    [Fact]
    public async Task Set_NullTtl_NeverExpires()
    {
        string key = NewKey("forever");
        await _backend.SetAsync(key, Entry("v"), null, CancellationToken.None);

        Assert.Null((await _backend.Client.GetAsync(key)).RemainingTtl);
    }

    [Fact]
    public async Task Get_CorruptBytes_ThrowsSerializationException_GetManyReturnsNullForThatKeyOnly()
    {
        string bad = NewKey("corrupt"), good = NewKey("good");
        await _backend.Client.SetAsync(bad, "not an envelope"u8.ToArray(), 0, TimeSpan.FromMinutes(1));
        await _backend.SetAsync(good, Entry("fine"), TimeSpan.FromMinutes(1), CancellationToken.None);

        await Assert.ThrowsAsync<CacheSerializationException>(async () => await _backend.GetAsync(bad, CancellationToken.None));
        CacheEntry?[] many = await _backend.GetManyAsync([bad, good], CancellationToken.None);
        Assert.Null(many[0]);
        Assert.Equal("fine", Encoding.UTF8.GetString(many[1]!.Payload.Span));
    }

    [Fact]
    public async Task Set_OverClientLimit_ThrowsValueTooLarge_NothingWritten()
    {
        string key = NewKey("huge");
        var huge = new CacheEntry(new byte[2 * 1024 * 1024], 638_000_000_000_000_000, null, TimeSpan.Zero);

        var ex = await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await _backend.SetAsync(key, huge, TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Equal(1024 * 1024, ex.Limit);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
        Assert.False((await _backend.Client.GetAsync(key)).Found);
    }

    [Fact]
    public async Task Set_UnderClientLimitButOverServerItemSize_ThrowsValueTooLarge_NothingWritten()
    {
        // The server's -I counts the item header and key too: a value just under 1 MiB passes the client, not the server.
        string key = NewKey("edge");
        var edge = new CacheEntry(new byte[1024 * 1024 - CacheEntryHeader - 8], 638_000_000_000_000_000, null, TimeSpan.Zero);

        var ex = await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await _backend.SetAsync(key, edge, TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Contains("item size limit", ex.Message, StringComparison.Ordinal);
        Assert.False((await _backend.Client.GetAsync(key)).Found);
        Assert.True((await _backend.Client.SetAsync(key, "ok"u8.ToArray(), 0, TimeSpan.FromMinutes(1))).Stored, "the connection pool recovers after the refusal");
    }

    [Fact]
    public async Task SetMany_OneEntryTooLarge_WritesNone()
    {
        string small = NewKey("small"), huge = NewKey("huge");
        CacheWrite[] writes =
        [
            new(small, Entry("s"), TimeSpan.FromMinutes(1)),
            new(huge, new CacheEntry(new byte[2 * 1024 * 1024], 638_000_000_000_000_000, null, TimeSpan.Zero), TimeSpan.FromMinutes(1)),
        ];

        await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await _backend.SetManyAsync(writes, CancellationToken.None));

        Assert.False((await _backend.Client.GetAsync(small)).Found);
    }

    [Theory]
    [InlineData("plain-key", false)]
    [InlineData("a key with spaces", true)]
    [InlineData("tab\tkey", true)]
    [InlineData("ключ", true)]
    public void DefaultKeyMangler_KeepsSafeKeys_HashesTheRest(string key, bool hashed)
    {
        string mangled = _backend.DefaultKeyMangler(key);

        Assert.Equal(hashed, mangled != key);
        Assert.True(MemcachedKeys.IsSafe(mangled, _backend.MaxKeyLength));
    }

    [Fact]
    public void DefaultKeyMangler_KeepsKeysOfExactlyMaxLength_HashesLonger()
    {
        Assert.Equal(new string('k', 250), _backend.DefaultKeyMangler(new string('k', 250)));
        Assert.StartsWith("sha256:", _backend.DefaultKeyMangler(new string('k', 251)), StringComparison.Ordinal);
    }

    [Fact]
    public void KeyPrefix_ShrinksMaxKeyLength_AndInvalidPrefixIsRejectedByName()
    {
        using var prefixed = new MemcachedCacheBackend(
            new MemcachedClientOptions { Servers = { server.Endpoint } }, new MemcachedCacheBackendOptions { KeyPrefix = "app/" });
        Assert.Equal(246, prefixed.MaxKeyLength);

        var ex = Assert.Throws<ArgumentException>(() => new MemcachedCacheBackend(
            new MemcachedClientOptions { Servers = { server.Endpoint } }, new MemcachedCacheBackendOptions { KeyPrefix = "has space" }));
        Assert.Contains("KeyPrefix", ex.Message, StringComparison.Ordinal);
    }

    private const int CacheEntryHeader = 26;

    public void Dispose() => _backend.Dispose();
}
