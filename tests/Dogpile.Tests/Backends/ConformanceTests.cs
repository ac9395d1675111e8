using Dogpile.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Backends;

public sealed class MemoryCacheBackendConformanceTests : CacheBackendConformanceTests
{
    private readonly FakeTimeProvider _time = new();

    protected override ICacheBackend CreateBackend() => new MemoryCacheBackend(10_000, _time);

    protected override Task LetTimePassAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}

public sealed class BytesMemoryBackendConformanceTests : CacheBackendConformanceTests
{
    private readonly FakeTimeProvider _time = new();

    protected override ICacheBackend CreateBackend() => new BytesMemoryBackend(_time, maxKeyLength: 4096);

    protected override Task LetTimePassAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}

public sealed class CacheEntryEnvelopeTests
{
    [Fact]
    public void ToBytesFromBytes_RoundTripsMetadataAndPayload()
    {
        var entry = new CacheEntry(new byte[] { 1, 2, 3 }, 638_000_000_000_000_000, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));
        CacheEntry back = CacheEntry.FromBytes(entry.ToBytes());
        Assert.Equal(entry.CreatedUtcTicks, back.CreatedUtcTicks);
        Assert.Equal(entry.Expiration, back.Expiration);
        Assert.Equal(entry.CreationDuration, back.CreationDuration);
        Assert.Equal([1, 2, 3], back.Payload.ToArray());
    }

    [Fact]
    public void FromBytes_RandomGarbage_OnlyEverThrowsSerializationException()
    {
        var random = new Random(1234);
        for (int i = 0; i < 5000; i++)
        {
            byte[] data = new byte[random.Next(0, 64)];
            random.NextBytes(data);
            if (data.Length > 1 && i % 2 == 0)
            {
                data[0] = 0xD6;
                data[1] = CacheEntry.FormatVersion;
            }

            try
            {
                CacheEntry.FromBytes(data);
            }
            catch (CacheSerializationException)
            {
            }
        }
    }

    [Fact]
    public void FromBytes_UnknownVersion_ClearMessage()
    {
        byte[] data = new CacheEntry(new byte[] { 1 }, 638_000_000_000_000_000, null, TimeSpan.Zero).ToBytes();
        data[1] = 99;
        Assert.Contains("version 99", Assert.Throws<CacheSerializationException>(() => CacheEntry.FromBytes(data)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToBytes_ObjectEntry_Refused()
        => Assert.Throws<InvalidOperationException>(() => new CacheEntry("live", 1, null, TimeSpan.Zero).ToBytes());

    [Fact]
    public void JsonSerializer_DoesNotHonourTypeNamesInPayload()
    {
        var serializer = SystemTextJsonCacheSerializer.Default;
        byte[] json = System.Text.Encoding.UTF8.GetBytes("""{"$type":"System.IO.FileInfo, System.IO.FileSystem","name":"x"}""");
        object? value = serializer.Deserialize<object>(new System.Buffers.ReadOnlySequence<byte>(json));
        Assert.IsType<System.Text.Json.JsonElement>(value);
    }
}
