using System.Text;

namespace Dogpile.Testing;

/// <summary>
/// The backend contract, by example. Every backend's test project subclasses this with a fresh backend per test.
/// Byte-oriented backends are exercised with payload entries, object backends with live values.
/// </summary>
public abstract class CacheBackendConformanceTests
{
    /// <summary>A new, empty backend (or one with keys unique to this test).</summary>
    protected abstract ICacheBackend CreateBackend();

    /// <summary>A key unique to this test run, so backends on shared servers do not see each other's data.</summary>
    protected virtual string Key(string name) => $"conf-{GetType().Name}-{Guid.NewGuid():N}-{name}";

    /// <summary>Lets backends whose TTL is enforced by a server wait for it; object backends advance a fake clock.</summary>
    protected abstract Task LetTimePassAsync(TimeSpan duration);

    private static CacheEntry MakeEntry(ICacheBackend backend, string text, long created = 638_000_000_000_000_000, TimeSpan? expiration = null)
        => backend.StoresObjects
            ? new CacheEntry(text, created, expiration ?? TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(5))
            : new CacheEntry(Encoding.UTF8.GetBytes(text), created, expiration ?? TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(5));

    private static string TextOf(CacheEntry entry)
        => entry.HasPayload ? Encoding.UTF8.GetString(entry.Payload.Span) : (string)entry.Value!;

    [Fact]
    public async Task Get_MissingKey_ReturnsNull()
    {
        ICacheBackend backend = CreateBackend();
        Assert.Null(await backend.GetAsync(Key("missing"), CancellationToken.None));
    }

    [Fact]
    public async Task Set_ThenGet_ReturnsValueAndMetadata()
    {
        ICacheBackend backend = CreateBackend();
        string key = Key("roundtrip");
        CacheEntry written = MakeEntry(backend, "hello", created: 638_500_000_000_000_000, expiration: TimeSpan.FromSeconds(42));
        await backend.SetAsync(key, written, TimeSpan.FromMinutes(5), CancellationToken.None);

        CacheEntry? read = await backend.GetAsync(key, CancellationToken.None);

        Assert.NotNull(read);
        Assert.Equal("hello", TextOf(read));
        Assert.Equal(written.CreatedUtcTicks, read.CreatedUtcTicks);
        Assert.Equal(TimeSpan.FromSeconds(42), read.Expiration);
        Assert.Equal(TimeSpan.FromMilliseconds(5), read.CreationDuration);
    }

    [Fact]
    public async Task Set_NeverExpiringEntry_KeepsNullExpiration()
    {
        ICacheBackend backend = CreateBackend();
        string key = Key("never");
        CacheEntry entry = backend.StoresObjects
            ? new CacheEntry("forever", 638_000_000_000_000_000, null, TimeSpan.Zero)
            : new CacheEntry(Encoding.UTF8.GetBytes("forever"), 638_000_000_000_000_000, null, TimeSpan.Zero);
        await backend.SetAsync(key, entry, null, CancellationToken.None);

        CacheEntry? read = await backend.GetAsync(key, CancellationToken.None);

        Assert.NotNull(read);
        Assert.Null(read.Expiration);
        Assert.Equal("forever", TextOf(read));
    }

    [Fact]
    public async Task Set_TaggedEntry_ThenGet_KeepsItsTags()
    {
        // A tagged entry as a byte backend would read it (envelope version 2): the memory backend keeps the object, a byte
        // backend must store and return the tags with the payload.
        ICacheBackend backend = CreateBackend();
        string key = Key("tagged");
        byte[] tag1 = Encoding.UTF8.GetBytes("product:42"), tag2 = Encoding.UTF8.GetBytes("catalog"), payload = Encoding.UTF8.GetBytes("v");
        var envelope = new List<byte> { 0xD6, 2 };
        envelope.AddRange(BitConverter.GetBytes(638_000_000_000_000_000L));
        envelope.AddRange(BitConverter.GetBytes(TimeSpan.FromMinutes(1).Ticks));
        envelope.AddRange(BitConverter.GetBytes(0L));
        envelope.Add(2);
        foreach (byte[] tag in new[] { tag1, tag2 })
        {
            envelope.AddRange(BitConverter.GetBytes((ushort)tag.Length));
            envelope.AddRange(tag);
        }

        envelope.AddRange(payload);
        CacheEntry written = CacheEntry.FromBytes(envelope.ToArray());
        Assert.Equal(["product:42", "catalog"], written.Tags);

        await backend.SetAsync(key, written, TimeSpan.FromMinutes(5), CancellationToken.None);
        CacheEntry? read = await backend.GetAsync(key, CancellationToken.None);

        Assert.NotNull(read);
        Assert.Equal(["product:42", "catalog"], read.Tags);
        Assert.Equal("v", Encoding.UTF8.GetString(read.Payload.Span));
    }

    [Fact]
    public async Task Set_ExistingKey_Replaces()
    {
        ICacheBackend backend = CreateBackend();
        string key = Key("replace");
        await backend.SetAsync(key, MakeEntry(backend, "one"), TimeSpan.FromMinutes(5), CancellationToken.None);
        await backend.SetAsync(key, MakeEntry(backend, "two"), TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.Equal("two", TextOf((await backend.GetAsync(key, CancellationToken.None))!));
    }

    [Fact]
    public async Task Remove_ExistingKey_ReturnsTrueAndDeletes()
    {
        ICacheBackend backend = CreateBackend();
        string key = Key("remove");
        await backend.SetAsync(key, MakeEntry(backend, "x"), TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.True(await backend.RemoveAsync(key, CancellationToken.None));
        Assert.Null(await backend.GetAsync(key, CancellationToken.None));
        Assert.False(await backend.RemoveAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task GetMany_ReturnsEntriesInKeyOrderWithNullsForMissing()
    {
        ICacheBackend backend = CreateBackend();
        string a = Key("a"), b = Key("b"), c = Key("c");
        await backend.SetAsync(a, MakeEntry(backend, "A"), TimeSpan.FromMinutes(5), CancellationToken.None);
        await backend.SetAsync(c, MakeEntry(backend, "C"), TimeSpan.FromMinutes(5), CancellationToken.None);

        CacheEntry?[] read = await backend.GetManyAsync([c, b, a], CancellationToken.None);

        Assert.Equal(3, read.Length);
        Assert.Equal("C", TextOf(read[0]!));
        Assert.Null(read[1]);
        Assert.Equal("A", TextOf(read[2]!));
    }

    [Fact]
    public async Task GetMany_EmptyList_ReturnsEmpty()
    {
        ICacheBackend backend = CreateBackend();
        Assert.Empty(await backend.GetManyAsync([], CancellationToken.None));
    }

    [Fact]
    public async Task SetMany_ThenRemoveMany_RoundTrips()
    {
        ICacheBackend backend = CreateBackend();
        string[] keys = [Key("m1"), Key("m2"), Key("m3")];
        await backend.SetManyAsync(
            keys.Select((k, i) => new CacheWrite(k, MakeEntry(backend, "v" + i), TimeSpan.FromMinutes(5))).ToArray(),
            CancellationToken.None);

        CacheEntry?[] read = await backend.GetManyAsync(keys, CancellationToken.None);
        Assert.Equal(["v0", "v1", "v2"], read.Select(e => TextOf(e!)));

        await backend.RemoveManyAsync([keys[0], keys[2]], CancellationToken.None);
        read = await backend.GetManyAsync(keys, CancellationToken.None);
        Assert.Null(read[0]);
        Assert.Equal("v1", TextOf(read[1]!));
        Assert.Null(read[2]);
    }

    [Fact]
    public async Task Set_WithTimeToLive_EntryDisappearsAfterIt()
    {
        ICacheBackend backend = CreateBackend();
        string key = Key("ttl");
        await backend.SetAsync(key, MakeEntry(backend, "short"), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.NotNull(await backend.GetAsync(key, CancellationToken.None));

        await LetTimePassAsync(TimeSpan.FromSeconds(2.5));

        Assert.Null(await backend.GetAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task Keys_AreCaseSensitiveAndDistinct()
    {
        ICacheBackend backend = CreateBackend();
        string lower = Key("case"), upper = lower.ToUpperInvariant();
        await backend.SetAsync(lower, MakeEntry(backend, "lower"), TimeSpan.FromMinutes(5), CancellationToken.None);
        await backend.SetAsync(upper, MakeEntry(backend, "upper"), TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.Equal("lower", TextOf((await backend.GetAsync(lower, CancellationToken.None))!));
        Assert.Equal("upper", TextOf((await backend.GetAsync(upper, CancellationToken.None))!));
    }

    [Fact]
    public async Task BinaryPayload_WithEveryByteValue_RoundTrips()
    {
        ICacheBackend backend = CreateBackend();
        if (backend.StoresObjects)
        {
            // Object backends hold references; there are no bytes to mangle. The reference must be the same one.
            var value = new object();
            string okey = Key("ref");
            await backend.SetAsync(okey, new CacheEntry(value, 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero), TimeSpan.FromMinutes(5), CancellationToken.None);
            Assert.Same(value, (await backend.GetAsync(okey, CancellationToken.None))!.Value);
            return;
        }

        byte[] payload = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(Encoding.UTF8.GetBytes("\r\nEND\r\n")).ToArray();
        string key = Key("binary");
        await backend.SetAsync(key, new CacheEntry(payload, 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero), TimeSpan.FromMinutes(5), CancellationToken.None);

        CacheEntry? read = await backend.GetAsync(key, CancellationToken.None);
        Assert.Equal(payload, read!.Payload.ToArray());
    }

    [Fact]
    public async Task ConcurrentWritersAndReaders_NeverSeeTornEntries()
    {
        ICacheBackend backend = CreateBackend();
        string key = Key("concurrent");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
        {
            for (int i = 0; i < 50; i++)
            {
                string text = $"w{worker}-{i}";
                await backend.SetAsync(key, MakeEntry(backend, text), TimeSpan.FromMinutes(5), CancellationToken.None);
                CacheEntry? read = await backend.GetAsync(key, CancellationToken.None);
                Assert.NotNull(read);
                Assert.Matches("^w[0-7]-[0-9]+$", TextOf(read));
            }
        }));
    }

    [Fact]
    public async Task MaxKeyLength_KeyOfThatLengthWorks()
    {
        ICacheBackend backend = CreateBackend();
        string prefix = Key("long");
        int length = Math.Min(backend.MaxKeyLength, 4096);
        string key = prefix + new string('k', Math.Max(0, length - prefix.Length));
        await backend.SetAsync(key, MakeEntry(backend, "long"), TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.Equal("long", TextOf((await backend.GetAsync(key, CancellationToken.None))!));
    }
}
