using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

public sealed class InvalidationTests
{
    [Fact]
    public async Task HardInvalidation_OlderValuesCountAsMissing_CallersWaitForNewValue()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromSeconds(1));

        await t.Region.InvalidateAsync(InvalidationMode.Hard);

        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        Assert.Null(await t.Region.GetItemAsync<string>("k"));
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();
        Task<string> waiter = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;
        Assert.False(waiter.IsCompleted);
        creator.Release();
        Assert.Equal("new", await waiter);
    }

    [Fact]
    public async Task SoftInvalidation_OlderValuesServedStaleWhileOneRefreshRuns()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetAsync("k", "old");
        t.Time.Advance(TimeSpan.FromSeconds(1));

        await t.Region.InvalidateAsync(InvalidationMode.Soft);

        Assert.False((await t.Region.GetAsync<string>("k")).HasValue);
        CacheItem<string> item = (await t.Region.GetItemAsync<string>("k"))!.Value;
        Assert.True(item.IsStale);
        var creator = new ControlledCreator<string>(_ => "new");
        creator.Hold();
        string[] served = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask()));
        Assert.All(served, v => Assert.Equal("old", v));
        await creator.Started.Task;
        creator.Release();
        await Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("k")).Value == "new", "the soft-invalidated value was refreshed");
        Assert.Equal(1, creator.Calls);
    }

    [Fact]
    public async Task Invalidation_ValuesCreatedAfterItAreFresh()
    {
        await using var t = new TestRegion();
        await t.Region.InvalidateAsync(InvalidationMode.Hard);
        t.Time.Advance(TimeSpan.FromMilliseconds(1));
        await t.Region.SetAsync("k", "after");
        Assert.Equal("after", (await t.Region.GetAsync<string>("k")).Value);
    }

    [Fact]
    public async Task InvalidationStore_PublishesAndAppliesMarksFromOtherProcesses()
    {
        var store = new InMemoryInvalidationStore();
        await using var a = new TestRegion(o => o.InvalidationStore = store);
        await using var b = new TestRegion(o => o.InvalidationStore = store);
        await a.Region.SetAsync("k", "a-old");
        await b.Region.SetAsync("k", "b-old");
        a.Time.Advance(TimeSpan.FromSeconds(1));
        b.Time.Advance(TimeSpan.FromSeconds(1));

        await a.Region.InvalidateAsync(InvalidationMode.Hard);

        Assert.Single(store.Published);
        Assert.False((await b.Region.GetAsync<string>("k")).HasValue);
    }

    private sealed class InMemoryInvalidationStore : IInvalidationStore
    {
        private readonly List<Action<RegionInvalidation>> _subscribers = [];

        public List<RegionInvalidation> Published { get; } = [];

        public ValueTask PublishAsync(string regionName, RegionInvalidation invalidation, CancellationToken cancellationToken)
        {
            Published.Add(invalidation);
            foreach (Action<RegionInvalidation> subscriber in _subscribers)
            {
                subscriber(invalidation);
            }

            return ValueTask.CompletedTask;
        }

        public IDisposable Subscribe(string regionName, Action<RegionInvalidation> onChanged)
        {
            _subscribers.Add(onChanged);
            return new Unsubscribe(() => _subscribers.Remove(onChanged));
        }

        private sealed class Unsubscribe(Action action) : IDisposable
        {
            public void Dispose() => action();
        }
    }
}
