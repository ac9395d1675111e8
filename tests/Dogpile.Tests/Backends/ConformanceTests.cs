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
        foreach (byte[] data in Garbage(seed: 1234))
        {
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
    public void TryFromBytes_AgreesWithFromBytes_OnValidEntriesAndGarbage()
    {
        var entry = new CacheEntry(new ReadOnlyMemory<byte>([1, 2, 3]), 638_000_000_000_000_000, TimeSpan.FromSeconds(30), TimeSpan.Zero);
        Assert.True(CacheEntry.TryFromBytes(entry.ToBytes(), out CacheEntry? decoded));
        Assert.Equal(entry.CreatedUtcTicks, decoded.CreatedUtcTicks);
        Assert.Equal([1, 2, 3], decoded.Payload.ToArray());

        foreach (byte[] data in Garbage(seed: 4321))
        {
            bool throws = Record.Exception(() => CacheEntry.FromBytes(data)) is CacheSerializationException;
            Assert.Equal(!throws, CacheEntry.TryFromBytes(data, out CacheEntry? maybe));
            Assert.Equal(!throws, maybe is not null);
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

    /// <summary>5,000 random byte strings up to 64 long; every other one starts with a valid marker and version, so decoding gets past the first checks.</summary>
    private static IEnumerable<byte[]> Garbage(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 5000; i++)
        {
            byte[] data = new byte[random.Next(0, 64)];
            random.NextBytes(data);
            if (data.Length > 1 && i % 2 == 0)
            {
                data[0] = CacheEntry.EnvelopeMagic;
                data[1] = CacheEntry.FormatVersion;
            }

            yield return data;
        }
    }
}

public sealed class MemoryCacheBackendEvictionTests
{
    private static CacheEntry Entry(int i) => new(i, 638_000_000_000_000_000, null, TimeSpan.Zero);

    [Fact]
    public async Task OverCapacity_EvictsEntriesNotReadSinceTheClockPassed_KeepsRecentlyReadOnes()
    {
        var backend = new MemoryCacheBackend(100);
        for (int i = 0; i < 100; i++)
        {
            await backend.SetAsync($"k{i}", Entry(i), null, default);
        }

        for (int i = 0; i < 50; i++)
        {
            Assert.NotNull(await backend.GetAsync($"k{i}", default));
        }

        for (int i = 100; i < 150; i++)
        {
            await backend.SetAsync($"k{i}", Entry(i), null, default);
        }

        Assert.Equal(100, backend.Count);
        for (int i = 0; i < 50; i++)
        {
            Assert.NotNull(await backend.GetAsync($"k{i}", default)); // read recently: kept
        }

        for (int i = 50; i < 100; i++)
        {
            Assert.Null(await backend.GetAsync($"k{i}", default)); // never read: evicted first
        }
    }

    [Fact]
    public async Task RewritingSameKeys_DoesNotGrowWithoutBound()
    {
        var backend = new MemoryCacheBackend(10);
        for (int i = 0; i < 100_000; i++)
        {
            await backend.SetAsync($"k{i % 5}", Entry(i), null, default);
        }

        Assert.Equal(5, backend.Count);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(99_995 + i, (int)(await backend.GetAsync($"k{i}", default))!.Value!);
        }
    }

    [Fact]
    public async Task ConcurrentWritersOverCapacity_CountStaysWithinBound()
    {
        var backend = new MemoryCacheBackend(1000);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                await backend.SetAsync($"w{w}-{i}", Entry(i), null, default);
                _ = await backend.GetAsync($"w{w}-{i / 2}", default);
            }
        })));

        Assert.InRange(backend.Count, 1, 1000 + 4);
    }

    [Fact]
    public async Task RemoveAndClear_UpdateCount()
    {
        var backend = new MemoryCacheBackend(100);
        await backend.SetAsync("a", Entry(1), null, default);
        await backend.SetAsync("b", Entry(2), null, default);
        Assert.True(await backend.RemoveAsync("a", default));
        Assert.Equal(1, backend.Count);
        backend.Clear();
        Assert.Equal(0, backend.Count);
        Assert.Null(await backend.GetAsync("b", default));
    }
}

public sealed class StripedCounterTests
{
    [Fact]
    public async Task ConcurrentIncrementsFromManyThreads_NoneLost()
    {
        var counter = new Dogpile.Internal.StripedCounter();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                counter.Increment();
            }
        })));

        Assert.Equal(1_600_000, counter.Sum());
    }
}
