using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>
/// A created value the backend refuses as too large is still returned to every caller, counted, held in the process
/// for its lifetime, and never makes later callers call the creator again: no upstream storm.
/// </summary>
public sealed class UnstorableValueTests
{
    private static TestRegion Region(ICacheBackend? backend = null, Action<CacheRegionOptions>? configure = null)
        => new(configure, backend ?? new MemoryCacheBackend(new MemoryCacheBackendOptions { SizeLimit = 10_000 }));

    [Fact]
    public async Task TooLargeForTheBackend_ReturnedToEveryWaiter_CreatorCalledOnce()
    {
        await using var t = Region();
        var creator = new ControlledCreator<byte[]>(_ => new byte[50_000]);
        creator.Hold();

        Task<byte[]>[] callers = Enumerable.Range(0, 20).Select(_ => t.Region.GetOrCreateAsync("big", creator.CreateAsync).AsTask()).ToArray();
        await creator.Started.Task;
        creator.Release();
        byte[][] values = await Task.WhenAll(callers);

        Assert.All(values, v => Assert.Equal(50_000, v.Length));
        Assert.Equal(1, creator.Calls);
        Assert.Equal(1, t.Region.GetStatistics().ValuesNotStored);
    }

    [Fact]
    public async Task TooLargeForTheBackend_LaterCallersServedFromTheProcess_UntilItExpires()
    {
        await using var t = Region();
        int calls = 0;
        ValueTask<byte[]> Create(CancellationToken _)
        {
            calls++;
            return new(new byte[50_000]);
        }

        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(50_000, (await t.Region.GetOrCreateAsync("big", Create)).Length);
        }

        Assert.Equal(1, calls);
        CacheItem<byte[]> item = await t.Region.GetOrCreateItemAsync<int, byte[]>("big", 0, (_, ct) => Create(ct));
        Assert.Equal(CacheItemSource.Hit, item.Source);

        // Expired: one refresh (served stale meanwhile, as any key), then fresh again from the new creation.
        t.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(50_000, (await t.Region.GetOrCreateAsync("big", Create)).Length);
        for (int i = 0; i < 50; i++)
        {
            _ = await t.Region.GetOrCreateAsync("big", Create);
        }

        Assert.Equal(2, calls);
        Assert.Equal(2, t.Region.GetStatistics().ValuesNotStored);
    }

    [Fact]
    public async Task SetOrRemove_ReplacesTheHeldValue()
    {
        await using var t = Region();
        Assert.Equal(50_000, (await t.Region.GetOrCreateAsync("big", _ => new ValueTask<byte[]>(new byte[50_000]))).Length);

        await t.Region.SetAsync("big", new byte[10]);
        Assert.Equal(10, (await t.Region.GetAsync<byte[]>("big")).Value.Length);

        await t.Region.RemoveAsync("big");
        Assert.False((await t.Region.GetAsync<byte[]>("big")).HasValue);
    }

    [Fact]
    public async Task MultiKey_OneValueTooLarge_OthersCached_NoneCreatedTwice()
    {
        await using var t = Region();
        var asked = new List<string>();
        ValueTask<IReadOnlyList<byte[]>> Create(IReadOnlyList<string> keys, CancellationToken _)
        {
            asked.AddRange(keys);
            return new(keys.Select(k => new byte[k == "big" ? 50_000 : 100]).ToArray());
        }

        byte[][] first = await t.Region.GetOrCreateManyAsync<byte[]>(["small", "big", "other"], Create);
        byte[][] second = await t.Region.GetOrCreateManyAsync<byte[]>(["small", "big", "other"], Create);

        Assert.Equal([100, 50_000, 100], first.Select(v => v.Length));
        Assert.Equal([100, 50_000, 100], second.Select(v => v.Length));
        Assert.Equal(["big", "other", "small"], asked);
        Assert.NotNull(await t.Backend.GetAsync("small", default));
        Assert.Null(await t.Backend.GetAsync("big", default));
        Assert.Equal(1, t.Region.GetStatistics().ValuesNotStored);
    }

    [Fact]
    public async Task ByteBackendItemLimit_SameProtection()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System, maxValueBytes: 1_000);
        await using var t = Region(backend);
        int calls = 0;
        for (int i = 0; i < 20; i++)
        {
            string value = await t.Region.GetOrCreateAsync("big", _ => { calls++; return new ValueTask<string>(new string('x', 5_000)); });
            Assert.Equal(5_000, value.Length);
        }

        Assert.Equal(1, calls);
        Assert.Empty(backend.Keys);
    }
}
