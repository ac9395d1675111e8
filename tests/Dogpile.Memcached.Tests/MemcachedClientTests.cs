using System.Text;
using Dogpile.Memcached.Client;
using Dogpile.Memcached.Tests.Infrastructure;

namespace Dogpile.Memcached.Tests;

public sealed class MemcachedClientTests : IClassFixture<MemcachedServer>, IDisposable
{
    private readonly MemcachedServer _server;
    private readonly MemcachedClient _client;

    public MemcachedClientTests(MemcachedServer server)
    {
        _server = server;
        var options = new MemcachedClientOptions { MaxConnectionsPerServer = 4, RequestTimeout = TimeSpan.FromSeconds(5) };
        options.Servers.Add(server.Endpoint);
        _client = new MemcachedClient(options);
    }

    public void Dispose() => _client.Dispose();

    private static string NewKey() => "t:" + Guid.NewGuid().ToString("N");

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Get_MissingKey_ReturnsNotFound()
    {
        var result = await _client.GetAsync(NewKey());
        Assert.False(result.Found);
        Assert.True(result.Value.IsEmpty);
    }

    [Fact]
    public async Task Set_ThenGet_ReturnsValueFlagsCasAndTtl()
    {
        var key = NewKey();
        var stored = await _client.SetAsync(key, Bytes("hello"), flags: 42, ttl: TimeSpan.FromSeconds(100));

        var result = await _client.GetAsync(key);

        Assert.Equal(MemcachedStoreStatus.Stored, stored.Status);
        Assert.True(result.Found);
        Assert.Equal("hello", Encoding.UTF8.GetString(result.Value.Span));
        Assert.Equal(42u, result.Flags);
        Assert.Equal(stored.Cas, result.Cas);
        Assert.NotEqual(0ul, result.Cas);
        Assert.InRange(result.RemainingTtl!.Value, TimeSpan.FromSeconds(95), TimeSpan.FromSeconds(100));
    }

    [Fact]
    public async Task Set_WithZeroTtl_NeverExpires()
    {
        var key = NewKey();
        await _client.SetAsync(key, Bytes("x"), 0, TimeSpan.Zero);
        Assert.Null((await _client.GetAsync(key)).RemainingTtl);
    }

    [Fact]
    public async Task Set_EmptyAndBinaryValues_RoundTrip()
    {
        var key = NewKey();
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).Concat("\r\nVA 3\r\n"u8.ToArray()).ToArray();

        await _client.SetAsync(key, binary, 0, TimeSpan.FromMinutes(1));
        Assert.Equal(binary, (await _client.GetAsync(key)).Value.ToArray());

        await _client.SetAsync(key, ReadOnlyMemory<byte>.Empty, 0, TimeSpan.FromMinutes(1));
        var empty = await _client.GetAsync(key);
        Assert.True(empty.Found);
        Assert.True(empty.Value.IsEmpty);
    }

    [Fact]
    public async Task Add_OnlyStoresWhenMissing()
    {
        var key = NewKey();
        Assert.Equal(MemcachedStoreStatus.Stored, (await _client.SetAsync(key, Bytes("first"), 0, TimeSpan.FromMinutes(1), MemcachedStoreMode.Add)).Status);
        Assert.Equal(MemcachedStoreStatus.NotStored, (await _client.SetAsync(key, Bytes("second"), 0, TimeSpan.FromMinutes(1), MemcachedStoreMode.Add)).Status);
        Assert.Equal("first", Encoding.UTF8.GetString((await _client.GetAsync(key)).Value.Span));
    }

    [Fact]
    public async Task Replace_OnlyStoresWhenPresent()
    {
        var key = NewKey();
        Assert.Equal(MemcachedStoreStatus.NotStored, (await _client.SetAsync(key, Bytes("a"), 0, TimeSpan.FromMinutes(1), MemcachedStoreMode.Replace)).Status);
        Assert.False((await _client.GetAsync(key)).Found);

        await _client.SetAsync(key, Bytes("a"), 0, TimeSpan.FromMinutes(1));
        Assert.Equal(MemcachedStoreStatus.Stored, (await _client.SetAsync(key, Bytes("b"), 0, TimeSpan.FromMinutes(1), MemcachedStoreMode.Replace)).Status);
        Assert.Equal("b", Encoding.UTF8.GetString((await _client.GetAsync(key)).Value.Span));
    }

    [Fact]
    public async Task AppendAndPrepend_ExtendTheValue()
    {
        var key = NewKey();
        await _client.SetAsync(key, Bytes("mid"), 0, TimeSpan.FromMinutes(1));
        await _client.SetAsync(key, Bytes("-end"), 0, TimeSpan.Zero, MemcachedStoreMode.Append);
        await _client.SetAsync(key, Bytes("start-"), 0, TimeSpan.Zero, MemcachedStoreMode.Prepend);
        Assert.Equal("start-mid-end", Encoding.UTF8.GetString((await _client.GetAsync(key)).Value.Span));
    }

    [Fact]
    public async Task Set_WithCompareCas_StoresOnlyWhenCasMatches()
    {
        var key = NewKey();
        var first = await _client.SetAsync(key, Bytes("v1"), 0, TimeSpan.FromMinutes(1));
        var second = await _client.SetAsync(key, Bytes("v2"), 0, TimeSpan.FromMinutes(1), compareCas: first.Cas);
        var stale = await _client.SetAsync(key, Bytes("v3"), 0, TimeSpan.FromMinutes(1), compareCas: first.Cas);
        var missing = await _client.SetAsync(NewKey(), Bytes("v"), 0, TimeSpan.FromMinutes(1), compareCas: 12345);

        Assert.Equal(MemcachedStoreStatus.Stored, second.Status);
        Assert.NotEqual(first.Cas, second.Cas);
        Assert.Equal(MemcachedStoreStatus.Exists, stale.Status);
        Assert.Equal(MemcachedStoreStatus.NotFound, missing.Status);
        Assert.Equal("v2", Encoding.UTF8.GetString((await _client.GetAsync(key)).Value.Span));
    }

    [Fact]
    public async Task Delete_RemovesKeyAndReportsMissing()
    {
        var key = NewKey();
        await _client.SetAsync(key, Bytes("x"), 0, TimeSpan.FromMinutes(1));

        Assert.Equal(MemcachedDeleteStatus.Deleted, await _client.DeleteAsync(key));
        Assert.False((await _client.GetAsync(key)).Found);
        Assert.Equal(MemcachedDeleteStatus.NotFound, await _client.DeleteAsync(key));
    }

    [Fact]
    public async Task Delete_WithCompareCas_DeletesOnlyTheOwnersValue()
    {
        var key = NewKey();
        var mine = await _client.SetAsync(key, Bytes("owner-a"), 0, TimeSpan.FromMinutes(1));
        var theirs = await _client.SetAsync(key, Bytes("owner-b"), 0, TimeSpan.FromMinutes(1));

        Assert.Equal(MemcachedDeleteStatus.Exists, await _client.DeleteAsync(key, mine.Cas));
        Assert.True((await _client.GetAsync(key)).Found);
        Assert.Equal(MemcachedDeleteStatus.Deleted, await _client.DeleteAsync(key, theirs.Cas));
        Assert.False((await _client.GetAsync(key)).Found);
    }

    [Fact]
    public async Task Touch_ChangesTtlOfExistingKeyOnly()
    {
        var key = NewKey();
        await _client.SetAsync(key, Bytes("x"), 0, TimeSpan.FromSeconds(10));

        Assert.True(await _client.TouchAsync(key, TimeSpan.FromSeconds(1000)));
        Assert.InRange((await _client.GetAsync(key)).RemainingTtl!.Value, TimeSpan.FromSeconds(990), TimeSpan.FromSeconds(1000));
        Assert.False(await _client.TouchAsync(NewKey(), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task IncrementAndDecrement_UpdateCounter()
    {
        var key = NewKey();
        Assert.Null(await _client.IncrementAsync(key));
        Assert.Equal(10ul, await _client.IncrementAsync(key, 5, initialValue: 10, ttl: TimeSpan.FromMinutes(1)));
        Assert.Equal(15ul, await _client.IncrementAsync(key, 5));
        Assert.Equal(9ul, await _client.DecrementAsync(key, 6));
        Assert.Equal(0ul, await _client.DecrementAsync(key, 100));
        Assert.Equal(ulong.MaxValue, await _client.DecrementAsync(NewKey(), 1, initialValue: ulong.MaxValue));
    }

    [Fact]
    public async Task Set_TtlOverThirtyDays_IsSentAsAbsoluteTimeAndStaysAlive()
    {
        // Sent as plain seconds, 60 days would be read as a unix time in 1970 and the item would vanish at once.
        var key = NewKey();
        var sixtyDays = TimeSpan.FromDays(60);
        await _client.SetAsync(key, Bytes("long"), 0, sixtyDays);

        var result = await _client.GetAsync(key);

        Assert.True(result.Found);
        Assert.InRange(result.RemainingTtl!.Value, sixtyDays - TimeSpan.FromMinutes(1), sixtyDays + TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void ToExpiration_ConvertsOnlyBeyondThirtyDays_UsingTheTimeProvider()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var options = new MemcachedClientOptions();
        options.Servers.Add("127.0.0.1:1");
        using var client = new MemcachedClient(options, time);

        Assert.Equal(0, client.ToExpiration(TimeSpan.Zero));
        Assert.Equal(1, client.ToExpiration(TimeSpan.FromMilliseconds(1)));
        Assert.Equal(2, client.ToExpiration(TimeSpan.FromSeconds(1.5)));
        Assert.Equal(2_592_000, client.ToExpiration(TimeSpan.FromDays(30)));
        Assert.Equal(1_800_000_000 + 2_592_001, client.ToExpiration(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1)));
        Assert.Equal(int.MaxValue, client.ToExpiration(TimeSpan.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => client.ToExpiration(TimeSpan.FromSeconds(-1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\there")]
    [InlineData("new\r\nline")]
    [InlineData("nul\0")]
    [InlineData("del\u007f")]
    public async Task InvalidKey_IsRejectedBeforeSending(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await _client.GetAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(async () => await _client.SetAsync(key, Bytes("x"), 0, TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentException>(async () => await _client.DeleteAsync(key));
    }

    [Fact]
    public async Task KeyLength_Allows250BytesAndRejects251()
    {
        var ok = new string('k', 250);
        await _client.SetAsync(ok, Bytes("x"), 0, TimeSpan.FromMinutes(1));
        Assert.True((await _client.GetAsync(ok)).Found);

        await Assert.ThrowsAsync<ArgumentException>(async () => await _client.GetAsync(new string('k', 251)));
        // 125 two-byte characters are 250 bytes; one more is over the limit although the string is short.
        await Assert.ThrowsAsync<ArgumentException>(async () => await _client.GetAsync(new string('é', 126)));
    }

    [Fact]
    public async Task Set_ValueOverMaxItemSize_ThrowsAndSendsNothing()
    {
        var options = new MemcachedClientOptions { MaxItemSize = 1000 };
        options.Servers.Add(_server.Endpoint);
        using var small = new MemcachedClient(options);
        var key = NewKey();

        await Assert.ThrowsAsync<MemcachedItemTooLargeException>(async () => await small.SetAsync(key, new byte[1001], 0, TimeSpan.FromMinutes(1)));

        Assert.False((await _client.GetAsync(key)).Found);
        Assert.Equal(0, small.OpenConnectionCount);
    }

    [Fact]
    public async Task Set_ValueTheServerRejects_ThrowsServerErrorAndDiscardsConnection()
    {
        // The server's own limit (1 MiB including overhead) is below this client's configured limit.
        var options = new MemcachedClientOptions { MaxItemSize = 4 * 1024 * 1024 };
        options.Servers.Add(_server.Endpoint);
        using var big = new MemcachedClient(options);
        var key = NewKey();

        var error = await Assert.ThrowsAsync<MemcachedServerErrorException>(async () => await big.SetAsync(key, new byte[2 * 1024 * 1024], 0, TimeSpan.FromMinutes(1)));

        Assert.Contains("too large", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, big.OpenConnectionCount);
        Assert.False((await big.GetAsync(key)).Found);
    }

    [Fact]
    public async Task Get_LargeValue_RoundTripsThroughBufferGrowth()
    {
        var key = NewKey();
        var value = new byte[900 * 1024];
        new Random(3).NextBytes(value);

        await _client.SetAsync(key, value, 0, TimeSpan.FromMinutes(1));

        Assert.Equal(value, (await _client.GetAsync(key)).Value.ToArray());
    }

    [Fact]
    public async Task GetMany_ReturnsFoundKeysOnly()
    {
        var keys = Enumerable.Range(0, 300).Select(i => NewKey()).ToArray();
        for (var i = 0; i < keys.Length; i += 2)
        {
            await _client.SetAsync(keys[i], Bytes("v" + i), (uint)i, TimeSpan.FromMinutes(1));
        }

        var results = await _client.GetManyAsync(keys.Append(keys[0]));

        Assert.Equal(150, results.Count);
        for (var i = 0; i < keys.Length; i += 2)
        {
            Assert.Equal("v" + i, Encoding.UTF8.GetString(results[keys[i]].Value.Span));
            Assert.Equal((uint)i, results[keys[i]].Flags);
        }
    }

    [Fact]
    public async Task Noop_AgainstLiveServer_Succeeds()
    {
        await _client.NoopAsync();
    }

    [Fact]
    public async Task Cancellation_BeforeReply_ThrowsOperationCanceledAndDiscardsConnection()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await _client.GetAsync(NewKey(), cts.Token));
        Assert.False((await _client.GetAsync(NewKey())).Found);
    }
}
