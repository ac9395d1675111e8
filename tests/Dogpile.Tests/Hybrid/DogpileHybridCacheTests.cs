using System.Buffers;
using System.Text;
using Dogpile.Hybrid;
using Dogpile.Testing;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Hybrid;

/// <summary>What only Dogpile's HybridCache does: the region behind it, serializers from DI, flags on a byte backend.</summary>
public sealed class DogpileHybridCacheTests
{
    private static ServiceProvider Build(Action<CacheRegionOptions>? configure = null, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        more?.Invoke(services);
        services.AddDogpileHybridCache(configure);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task AddDogpileHybridCache_RegistersHybridCacheOnTheNamedRegion()
    {
        await using ServiceProvider sp = Build(o => o.Expiration = TimeSpan.FromMinutes(7));
        HybridCache cache = sp.GetRequiredService<HybridCache>();
        CacheRegion region = sp.GetRequiredService<ICacheRegionProvider>().GetRegion(DogpileHybridCacheServiceCollectionExtensions.DefaultRegionName);

        Assert.Same(region, Assert.IsType<DogpileHybridCache>(cache).Region);
        Assert.Equal(TimeSpan.FromMinutes(7), region.DefaultExpiration);
        await cache.SetAsync("k", "v", tags: ["t"]);
        CacheItem<string> item = (await region.GetItemAsync<string>("k"))!.Value;
        Assert.Equal("v", item.Value);
        Assert.Equal(TimeSpan.FromMinutes(7), item.Expiration);
    }

    [Fact]
    public async Task Hit_ThroughTheAdapter_IsSynchronousAndAllocatesNothing()
    {
        await using ServiceProvider sp = Build();
        HybridCache cache = sp.GetRequiredService<HybridCache>();
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(1) };
        await cache.SetAsync("k", "v");
        Func<int, CancellationToken, ValueTask<string>> factory = static (_, _) => throw new InvalidOperationException("a hit must not create");
        string[] tags = ["t"];

        for (int i = 0; i < 100; i++)
        {
            Assert.True(cache.GetOrCreateAsync("k", 0, factory, options, tags).IsCompletedSuccessfully);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int wrong = 0;
        for (int i = 0; i < 1000; i++)
        {
            ValueTask<string> hit = cache.GetOrCreateAsync("k", 0, factory, options, tags);
            wrong += hit.IsCompletedSuccessfully && hit.Result == "v" ? 0 : 1;
            hit = cache.GetOrCreateAsync("k", 0, factory);
            wrong += hit.IsCompletedSuccessfully && hit.Result == "v" ? 0 : 1;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, wrong);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task LocalCacheExpiration_MemoryRegion_IsTheEntrysExpirationWhenShorter()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        await using ServiceProvider sp = Build(more: s => s.AddSingleton<TimeProvider>(time));
        HybridCache cache = sp.GetRequiredService<HybridCache>();
        CacheRegion region = ((DogpileHybridCache)cache).Region;

        await cache.SetAsync("k", "v", new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromMinutes(1) });
        await cache.SetAsync("long", "v", new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10) });
        time.Advance(TimeSpan.FromMinutes(2));

        Assert.False((await region.GetAsync<string>("k")).HasValue);
        Assert.Equal("v", (await region.GetAsync<string>("long")).Value);
    }

    [Fact]
    public async Task Serializers_FromDI_AreUsedByAByteBackend_TypeSerializerBeforeFactory()
    {
        var pointSerializer = new PointSerializer();
        var factory = new PrefixingFactory();
        await using ServiceProvider sp = Build(
            o => o.Backend = new BytesMemoryBackend(TimeProvider.System),
            s => s.AddSingleton<IHybridCacheSerializer<Point>>(pointSerializer).AddSingleton<IHybridCacheSerializerFactory>(factory));
        HybridCache cache = sp.GetRequiredService<HybridCache>();

        await cache.SetAsync("p", new Point(3, 4));
        Assert.Equal(new Point(3, 4), await cache.GetOrCreateAsync("p", _ => new ValueTask<Point>(new Point(0, 0))));
        Assert.Equal("word", await cache.GetOrCreateAsync("s", _ => new ValueTask<string>("word")));
        Assert.Equal("word", await cache.GetOrCreateAsync("s", _ => new ValueTask<string>("other")));

        Assert.True(pointSerializer.Serialized >= 1 && pointSerializer.Deserialized >= 1);
        Assert.True(factory.Used >= 2, "the factory's string serializer wrote and read the string");

        // Types neither knows fall back to the region's serializer (System.Text.Json).
        Assert.Equal(5, await cache.GetOrCreateAsync("i", _ => new ValueTask<int>(5)));
        Assert.Equal(5, await cache.GetOrCreateAsync("i", _ => new ValueTask<int>(6)));
    }

    [Fact]
    public async Task DistributedFlags_ByteBackend_ReadAndWriteTurnedOff()
    {
        await using ServiceProvider sp = Build(o => o.Backend = new BytesMemoryBackend(TimeProvider.System));
        HybridCache cache = sp.GetRequiredService<HybridCache>();
        await cache.SetAsync("k", "old");

        var noRead = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCacheRead };
        Assert.Equal("fresh", await cache.GetOrCreateAsync("k", _ => new ValueTask<string>("fresh"), noRead));
        Assert.Equal("fresh", await cache.GetOrCreateAsync("k", _ => new ValueTask<string>("unused")));

        var noWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite };
        Assert.Equal("n1", await cache.GetOrCreateAsync("n", _ => new ValueTask<string>("n1"), noWrite));
        Assert.Equal("n2", await cache.GetOrCreateAsync("n", _ => new ValueTask<string>("n2")));

        // The local flags have no level to act on with a remote backend: the value is read and written as usual.
        var localOff = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCache };
        Assert.Equal("n2", await cache.GetOrCreateAsync("n", _ => new ValueTask<string>("n3"), localOff));
    }

    [Fact]
    public async Task RemoveByTag_TagsNoEntryCanCarry_DoNothing_InvalidEntryTagsThrow()
    {
        await using ServiceProvider sp = Build();
        HybridCache cache = sp.GetRequiredService<HybridCache>();
        await cache.SetAsync("k", "v");

        await cache.RemoveByTagAsync("");
        await cache.RemoveByTagAsync(new string('x', CacheEntryOptions.MaxTagLength + 1));

        Assert.Equal("v", await cache.GetOrCreateAsync("k", _ => new ValueTask<string>("new")));
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.SetAsync("k", "v", tags: ["*"]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.SetAsync("k", "v", tags: [.. Enumerable.Range(0, CacheEntryOptions.MaxTags + 1).Select(i => "t" + i)]));
    }

    public sealed record Point(int X, int Y);

    private sealed class PointSerializer : IHybridCacheSerializer<Point>
    {
        public int Serialized;
        public int Deserialized;

        public Point Deserialize(ReadOnlySequence<byte> source)
        {
            Interlocked.Increment(ref Deserialized);
            string[] parts = Encoding.UTF8.GetString(source).Split(',');
            return new Point(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        public void Serialize(Point value, IBufferWriter<byte> target)
        {
            Interlocked.Increment(ref Serialized);
            target.Write(Encoding.UTF8.GetBytes(FormattableString.Invariant($"{value.X},{value.Y}")));
        }
    }

    /// <summary>Offers a serializer for strings only (stored with a prefix, so its use shows), and for Point too: the per-type registration must win.</summary>
    private sealed class PrefixingFactory : IHybridCacheSerializerFactory
    {
        public int Used;

        public bool TryCreateSerializer<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IHybridCacheSerializer<T>? serializer)
        {
            if (typeof(T) == typeof(string))
            {
                serializer = (IHybridCacheSerializer<T>)(object)new PrefixedString(this);
                return true;
            }

            if (typeof(T) == typeof(Point))
            {
                throw new InvalidOperationException("the IHybridCacheSerializer<Point> registered for the type must be used first");
            }

            serializer = null;
            return false;
        }

        private sealed class PrefixedString(PrefixingFactory owner) : IHybridCacheSerializer<string>
        {
            public string Deserialize(ReadOnlySequence<byte> source)
            {
                Interlocked.Increment(ref owner.Used);
                string text = Encoding.UTF8.GetString(source);
                Assert.StartsWith("s:", text, StringComparison.Ordinal);
                return text[2..];
            }

            public void Serialize(string value, IBufferWriter<byte> target)
            {
                Interlocked.Increment(ref owner.Used);
                target.Write(Encoding.UTF8.GetBytes("s:" + value));
            }
        }
    }
}
