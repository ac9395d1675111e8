using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Backends;

/// <summary>
/// The embedded default's memory is bounded by its live entries: replaced values are not kept alive by the clock queue,
/// the entry count and (when set) the weighed size stay within their limits.
/// </summary>
public sealed class MemoryCacheBackendBoundsTests
{
    private static readonly long Created = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    [Fact]
    public async Task RewritingOneKeyWithLargeValues_ReplacedValuesAreCollected()
    {
        var backend = new MemoryCacheBackend();
        List<WeakReference> written = await WriteAsync(backend, 200, _ => "kernel", 1024 * 1024);

        Assert.Equal(1, backend.Count);
        Assert.InRange(CountAlive(written), 0, 1);
    }

    [Fact]
    public async Task ManyKeysPastCapacity_OnlyAboutCapacityValuesStayAlive()
    {
        var backend = new MemoryCacheBackend(50);
        List<WeakReference> written = await WriteAsync(backend, 2000, i => $"k{i % 400}", 1024);

        Assert.InRange(backend.Count, 1, 50);
        Assert.InRange(CountAlive(written), 1, 50);
    }

    [Fact]
    public async Task RegionRefreshingExpiringKeys_KeepsOnlyTheCurrentValues()
    {
        // The showcase's pattern: a few keys with a short expiry, refreshed over and over.
        await using var t = new TestRegion(o => o.Expiration = TimeSpan.FromSeconds(2));
        var alive = new List<WeakReference>();
        for (int round = 0; round < 150; round++)
        {
            for (int k = 0; k < 3; k++)
            {
                await t.Region.GetOrCreateAsync($"p{k}", alive, static (refs, _) => new ValueTask<byte[]>(Track(refs, 256 * 1024)));
            }

            t.Time.Advance(TimeSpan.FromSeconds(11) + TimeSpan.FromMinutes(10));
        }

        Assert.InRange(CountAlive(alive), 0, 3);
    }

    [Fact]
    public async Task SizeLimit_EvictsToStayWithinIt_AndKeepsRecentlyReadEntries()
    {
        var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { SizeLimit = 100_000, Weigher = (_, e) => ((byte[])e.Value!).Length });
        await backend.SetAsync("hot", Entry(new byte[10_000]), null, default);
        for (int i = 0; i < 50; i++)
        {
            Assert.NotNull(await backend.GetAsync("hot", default));
            await backend.SetAsync($"k{i}", Entry(new byte[10_000]), null, default);
            Assert.InRange(backend.Size, 0, 100_000);
        }

        Assert.InRange(backend.Count, 2, 10);
        Assert.NotNull(await backend.GetAsync("hot", default));
    }

    [Fact]
    public async Task SizeLimit_EntryHeavierThanTheWholeLimit_RefusedClearly_PreviousValueKept()
    {
        var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { SizeLimit = 10_000 });
        await backend.SetAsync("k", Entry("small"), null, default);

        var ex = await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await backend.SetAsync("k", Entry(new byte[20_000]), null, default));

        Assert.Equal(10_000, ex.Limit);
        Assert.True(ex.Size > 20_000);
        Assert.Equal("small", (await backend.GetAsync("k", default))!.Value);
    }

    [Fact]
    public async Task DefaultWeigher_EstimatesObjectsByTheirJsonAndStringsExactly()
    {
        var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { SizeLimit = long.MaxValue });
        await backend.SetAsync("s", Entry(new string('x', 10_000)), null, default);
        long stringSize = backend.Size;
        await backend.RemoveAsync("s", default);
        Assert.Equal(0, backend.Size);

        await backend.SetAsync("o", Entry(new Bug(1, new string('y', 10_000), ["a", "b"])), null, default);
        long objectSize = backend.Size;

        Assert.InRange(stringSize, 20_000, 20_400);
        Assert.InRange(objectSize, 10_000, 10_400);
    }

    [Fact]
    public async Task EvictionPass_DropsExpiredEntriesFirst()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(Created, TimeSpan.Zero));
        var backend = new MemoryCacheBackend(10, time);
        for (int i = 0; i < 10; i++)
        {
            await backend.SetAsync($"old{i}", Entry(i), TimeSpan.FromSeconds(1), default);
        }

        time.Advance(TimeSpan.FromSeconds(2));
        await backend.SetAsync("new", Entry(99), null, default);

        Assert.True(backend.Count <= 10);
        Assert.NotNull(await backend.GetAsync("new", default));
    }

    [Fact]
    public void InvalidOptions_ClearErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryCacheBackend(0));
        var capacity = Assert.Throws<ArgumentException>(() => new MemoryCacheBackend(new MemoryCacheBackendOptions { Capacity = 0 }));
        Assert.Contains("Capacity", capacity.Message, StringComparison.Ordinal);
        var size = Assert.Throws<ArgumentException>(() => new MemoryCacheBackend(new MemoryCacheBackendOptions { SizeLimit = 0 }));
        Assert.Contains("SizeLimit", size.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegionBoundsFromConfiguration_ApplyToTheDefaultMemoryBackend()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["bugs:Memory:Capacity"] = "500",
            ["bugs:Memory:SizeLimit"] = "1000000",
        }).Build();
        var services = new ServiceCollection();
        services.AddDogpile().AddRegion("bugs", config.GetSection("bugs"));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var memory = Assert.IsType<MemoryCacheBackend>(provider.GetRequiredService<ICacheRegionProvider>().GetRegion("bugs").Backend);

        Assert.Equal(500, memory.Capacity);
        Assert.Equal(1_000_000, memory.SizeLimit);
    }

    [Fact]
    public void RegionMemoryBoundsWithAnotherBackend_ClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CacheRegion(new CacheRegionOptions
        {
            Name = "r",
            Backend = new MemoryCacheBackend(10),
            Memory = new MemoryCacheBackendOptions { SizeLimit = 1000 },
        }));

        Assert.Contains("Memory", ex.Message, StringComparison.Ordinal);
    }

    private sealed record Bug(int Id, string Summary, string[] Tags);

    private static CacheEntry Entry(object value) => new(value, Created, null, TimeSpan.Zero);

    private static CacheEntry Entry(int value) => Entry((object)value);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte[] Track(List<WeakReference> refs, int size)
    {
        byte[] value = new byte[size];
        refs.Add(new WeakReference(value));
        return value;
    }

    private static async Task<List<WeakReference>> WriteAsync(MemoryCacheBackend backend, int writes, Func<int, string> key, int size)
    {
        var refs = new List<WeakReference>(writes);
        for (int i = 0; i < writes; i++)
        {
            await backend.SetAsync(key(i), Entry(Track(refs, size)), null, default);
        }

        return refs;
    }

    private static int CountAlive(List<WeakReference> refs)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return refs.Count(r => r.IsAlive);
    }
}
