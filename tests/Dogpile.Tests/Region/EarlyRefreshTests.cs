using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>Refreshing hot keys before anyone sees them stale.</summary>
public sealed class EarlyRefreshTests
{
    [Fact]
    public async Task EarlyRefreshRatio_PastFraction_ServesFreshValueAndRefreshesInBackground()
    {
        await using var t = new TestRegion(o => o.EarlyRefreshRatio = 0.8);
        int calls = 0;
        ValueTask<string> Create(CancellationToken ct) => new($"v{Interlocked.Increment(ref calls)}");
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", Create));

        t.Time.Advance(TimeSpan.FromSeconds(30)); // 50%: no refresh yet
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", Create));
        Assert.Equal(1, calls);

        t.Time.Advance(TimeSpan.FromSeconds(20)); // 83%: still fresh, refreshed early
        CacheItem<string> item = await t.Region.GetOrCreateItemAsync("k", 0, (_, ct) => Create(ct));
        Assert.Equal("v1", item.Value);
        Assert.Equal(CacheItemSource.Hit, item.Source);
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "v2", "the early refresh stored a new value");
        Assert.Equal(2, calls);
        Assert.Equal(0, t.Region.GetStatistics().StaleServed);
    }

    [Fact]
    public async Task BackgroundRefreshAlone_RefreshesBeforeExpiry_NobodySeesTheValueStale()
    {
        // A user who sets only Expiration and BackgroundRefresh: the value is renewed ahead of its expiry by default.
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        int calls = 0;
        ValueTask<string> Create(CancellationToken ct) => new($"v{Interlocked.Increment(ref calls)}");
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", Create));

        t.Time.Advance(TimeSpan.FromSeconds(30)); // 50%: before any refresh point (0.8, at most a tenth earlier)
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", Create));
        Assert.Equal(1, calls);

        t.Time.Advance(TimeSpan.FromSeconds(19)); // 82%: refreshed early, served fresh meanwhile
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", Create));
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "v2", "the early refresh stored a new value");
        Assert.Equal(0, t.Region.GetStatistics().StaleServed);
    }

    [Fact]
    public async Task EarlyRefreshRatioZero_TurnsTheDefaultOff()
    {
        await using var t = new TestRegion(o => { o.BackgroundRefresh = true; o.EarlyRefreshRatio = 0; });
        int calls = 0;
        ValueTask<string> Create(CancellationToken ct) => new($"v{Interlocked.Increment(ref calls)}");
        await t.Region.GetOrCreateAsync("k", Create);

        t.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", Create));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task SlowCreator_RefreshStartsTwoCreationsBeforeExpiry_NotAtTheRatio()
    {
        // A 20 s creator on a 60 s expiration: at 0.8 (48 s) the refresh would land at 68 s, after expiry. It starts at
        // most 40 s before expiry instead (capped at half the expiration: 30 s), at most a tenth (6 s) earlier still.
        await using var t = new TestRegion(o => o.EarlyRefreshRatio = 0.8);
        int calls = 0;
        await t.Region.GetOrCreateAsync("k", ct =>
        {
            t.Time.Advance(TimeSpan.FromSeconds(20));
            return new ValueTask<string>($"v{Interlocked.Increment(ref calls)}");
        });

        t.Time.Advance(TimeSpan.FromSeconds(23)); // 23 s after creation: before the earliest point (24 s)
        Assert.Equal("v1", await t.Region.GetOrCreateAsync<string>("k", _ => new ValueTask<string>("v2")));
        Assert.Equal("v1", (await t.Region.GetAsync<string>("k")).Value);

        t.Time.Advance(TimeSpan.FromSeconds(8)); // 31 s: past the point, 29 s before expiry
        Assert.Equal("v1", await t.Region.GetOrCreateAsync<string>("k", _ => new ValueTask<string>("v2")));
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "v2", "refreshed well before expiry");
    }

    [Fact]
    public async Task DefaultEarlyRefresh_KeepsTheInlinedHitAllocationFree()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "cached");
        Func<string, CancellationToken, ValueTask<string>> creator = static (s, _) => new ValueTask<string>(s);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(t.Region.GetOrCreateAsync("k", "unused", creator).IsCompletedSuccessfully);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            _ = t.Region.GetOrCreateAsync("k", "unused", creator).Result;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task EarlyRefresh_ConcurrentHits_StartOneRefresh()
    {
        await using var t = new TestRegion(o => o.EarlyRefreshRatio = 0.5);
        var creator = new ControlledCreator<string>(n => $"v{n}");
        await t.Region.GetOrCreateAsync("k", creator.CreateAsync);
        t.Time.Advance(TimeSpan.FromSeconds(40));
        creator.Hold();

        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask()));
        await creator.Started.Task;
        creator.Release();
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "v2", "refreshed");
        Assert.Equal(2, creator.Calls);
    }

    [Fact]
    public async Task XFetch_SlowCreatorNearExpiry_RefreshesEarly()
    {
        await using var t = new TestRegion(o => o.EarlyExpirationBeta = 1.0);
        int calls = 0;
        await t.Region.GetOrCreateAsync("k", async ct =>
        {
            // A creator that takes 20 s: XFetch refreshes keys whose recomputation is costly well ahead of expiry.
            t.Time.Advance(TimeSpan.FromSeconds(20));
            Interlocked.Increment(ref calls);
            return "v1";
        });

        t.Time.Advance(TimeSpan.FromSeconds(59.9));
        // P(no early refresh in one read) = 1 - exp(-0.1/20)... near expiry almost every read triggers: over 200 reads, certain.
        for (int i = 0; i < 200 && calls < 2; i++)
        {
            await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v2-" + Interlocked.Increment(ref calls)));
            await Task.Yield();
        }

        await Eventually.TrueAsync(() => calls >= 2, "XFetch triggered an early refresh");
    }

    [Fact]
    public async Task XFetch_FarFromExpiry_DoesNotRefresh()
    {
        await using var t = new TestRegion(o => o.EarlyExpirationBeta = 1.0);
        int calls = 0;
        await t.Region.GetOrCreateAsync("k", ct =>
        {
            t.Time.Advance(TimeSpan.FromMilliseconds(1));
            Interlocked.Increment(ref calls);
            return new ValueTask<string>("v1");
        });

        // A 1 ms creator, 50 s from expiry: -ln(U) would have to exceed 50,000.
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v" + Interlocked.Increment(ref calls))));
        }

        Assert.Equal(1, calls);
    }
}
