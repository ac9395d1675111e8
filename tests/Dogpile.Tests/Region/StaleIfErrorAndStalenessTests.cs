using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>Beyond dogpile: stale-if-error with back-off, and a maximum staleness so nothing is stale forever.</summary>
public sealed class StaleIfErrorAndStalenessTests
{
    [Fact]
    public async Task StaleIfError_FailedRefreshKeepsStaleValueAndBacksOff()
    {
        await using var t = new TestRegion(o =>
        {
            o.RefreshFailureBackoff = TimeSpan.FromSeconds(10);
            o.RefreshFailureMaxBackoff = TimeSpan.FromSeconds(40);
        });
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromMinutes(2));
        var creator = new ControlledCreator<string>(_ => "new") { FailWith = new TimeoutException("upstream slow") };

        // Synchronous mode: the elected caller tries, fails, and still gets the stale value.
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(1, creator.Calls);

        // Within the back-off nobody retries: no retry storm.
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        }

        Assert.Equal(1, creator.Calls);

        t.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(2, creator.Calls);

        // The back-off doubled: 10 s is not enough now, 20 s is.
        t.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("old", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(2, creator.Calls);
        t.Time.Advance(TimeSpan.FromSeconds(10));
        creator.FailWith = null;
        Assert.Equal("new", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(3, creator.Calls);
        Assert.Equal(2, t.Region.GetStatistics().RefreshesFailed);
    }

    [Fact]
    public async Task MaxStaleness_AfterItCallersWaitForFreshValue()
    {
        await using var t = new TestRegion(o =>
        {
            o.MaxStaleness = TimeSpan.FromMinutes(2);
            o.StaleWindow = TimeSpan.FromMinutes(10);
            o.BackgroundRefresh = true;
        });
        await t.Region.SetAsync("k", "ancient");
        t.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromMinutes(3)); // expired 3 minutes ago > max staleness
        var creator = new ControlledCreator<string>(_ => "fresh");
        creator.Hold();

        Task<string> caller = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;
        Assert.False(caller.IsCompleted); // not served the ancient value
        creator.Release();

        Assert.Equal("fresh", await caller);
    }

    [Fact]
    public async Task MaxStaleness_CreatorFailsWithinStaleWindow_ServesOldValueAsLastResort()
    {
        await using var t = new TestRegion(o =>
        {
            o.MaxStaleness = TimeSpan.FromMinutes(2);
            o.StaleWindow = TimeSpan.FromMinutes(10);
        });
        await t.Region.SetAsync("k", "ancient");
        t.Time.Advance(TimeSpan.FromMinutes(4));
        var creator = new ControlledCreator<string>(_ => "fresh") { FailWith = new InvalidOperationException("down") };

        CacheItem<string> item = await t.Region.GetOrCreateItemAsync("k", creator, static (c, ct) => c.CreateAsync(ct));

        Assert.Equal("ancient", item.Value);
        Assert.Equal(CacheItemSource.Stale, item.Source);
        Assert.True(item.IsStale);

        // Backing off now: the next caller gets the old value without another attempt.
        Assert.Equal("ancient", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
        Assert.Equal(1, creator.Calls);
    }

    [Fact]
    public async Task PastStaleWindow_NoValueAtAll_CreatorFailureReachesCaller()
    {
        await using var t = new TestRegion(o => o.StaleWindow = TimeSpan.FromMinutes(5));
        await t.Region.SetAsync("k", "gone");
        t.Time.Advance(TimeSpan.FromMinutes(7));

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("down")));
    }

    [Fact]
    public async Task Missing_CreatorFails_NextCallerTriesAgainImmediately()
    {
        await using var t = new TestRegion();
        int calls = 0;
        ValueTask<string> Failing(CancellationToken ct)
        {
            calls++;
            throw new InvalidOperationException("down");
        }

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await t.Region.GetOrCreateAsync("k", Failing));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await t.Region.GetOrCreateAsync("k", Failing));
        Assert.Equal(2, calls);
    }
}
