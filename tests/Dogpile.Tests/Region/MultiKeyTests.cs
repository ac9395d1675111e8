using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

public sealed class MultiKeyTests
{
    [Fact]
    public async Task GetOrCreateMany_OneCreatorCallForAllMissingKeys_ResultsInCallersOrder()
    {
        await using var t = new TestRegion();
        await t.Region.SetAsync("b", "cached-b");
        var calls = new List<IReadOnlyList<string>>();

        string[] values = await t.Region.GetOrCreateManyAsync<string>(
            ["d", "b", "a", "c", "a"],
            (keys, ct) =>
            {
                calls.Add(keys);
                return new ValueTask<IReadOnlyList<string>>(keys.Select(k => "new-" + k).ToArray());
            });

        Assert.Equal(["new-d", "cached-b", "new-a", "new-c", "new-a"], values);
        IReadOnlyList<string> only = Assert.Single(calls);
        Assert.Equal(["a", "c", "d"], only);
        Assert.Equal("new-c", (await t.Region.GetAsync<string>("c")).Value);
    }

    [Fact]
    public async Task GetOrCreateMany_AllFresh_NoCreatorCall()
    {
        await using var t = new TestRegion();
        await t.Region.SetManyAsync(new Dictionary<string, int> { ["x"] = 1, ["y"] = 2 });

        int[] values = await t.Region.GetOrCreateManyAsync<int>(["y", "x"], (_, _) => throw new InvalidOperationException("no"));

        Assert.Equal([2, 1], values);
    }

    [Fact]
    public async Task GetOrCreateMany_OverlappingKeySetsInOppositeOrders_NoDeadlockEachKeyCreatedOnce()
    {
        await using var t = new TestRegion();
        string[] keys = Enumerable.Range(0, 20).Select(i => $"k{i:D2}").ToArray();
        var created = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        async ValueTask<IReadOnlyList<string>> Create(IReadOnlyList<string> missing, CancellationToken ct)
        {
            await Task.Yield();
            foreach (string key in missing)
            {
                created.AddOrUpdate(key, 1, (_, n) => n + 1);
            }

            return missing.Select(k => "v-" + k).ToArray();
        }

        Task<string[]>[] callers = Enumerable.Range(0, 40).Select(i =>
        {
            string[] order = i % 2 == 0 ? keys : keys.Reverse().ToArray();
            string[] subset = order.Where((_, j) => (j + i) % 3 != 0).ToArray();
            return Task.Run(async () => await t.Region.GetOrCreateManyAsync<string>(subset, Create));
        }).ToArray();

        Task all = Task.WhenAll(callers);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(20))));
        foreach (Task<string[]> caller in callers)
        {
            Assert.All(await caller, v => Assert.StartsWith("v-k", v, StringComparison.Ordinal));
        }

        Assert.All(created, pair => Assert.Equal(1, pair.Value));
    }

    [Fact]
    public async Task GetOrCreateMany_CreatorReturnsWrongCount_ClearException()
    {
        await using var t = new TestRegion();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await t.Region.GetOrCreateManyAsync<string>(["a", "b"], (_, _) => new ValueTask<IReadOnlyList<string>>(["only one"])));
        Assert.Contains("one value per key", ex.Message, StringComparison.Ordinal);
        Assert.False((await t.Region.GetAsync<string>("a")).HasValue);
    }

    [Fact]
    public async Task GetOrCreateMany_StaleKeysElectOneRegenerator()
    {
        await using var t = new TestRegion(o => o.BackgroundRefresh = true);
        await t.Region.SetManyAsync(new Dictionary<string, string> { ["a"] = "old-a", ["b"] = "old-b" });
        t.Time.Advance(TimeSpan.FromMinutes(2));
        int calls = 0;

        string[] values = await t.Region.GetOrCreateManyAsync<string>(["a", "b"], (keys, _) =>
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<IReadOnlyList<string>>(keys.Select(k => "new-" + k).ToArray());
        });

        Assert.Equal(["old-a", "old-b"], values);
        await Dogpile.Testing.Eventually.TrueAsync(async () => (await t.Region.GetAsync<string>("b")).Value == "new-b", "b refreshed in the background");
    }

    [Fact]
    public async Task GetMany_ReturnsHitsAndMissesInOrder_RemoveManyDeletes()
    {
        await using var t = new TestRegion();
        await t.Region.SetManyAsync(new Dictionary<string, string> { ["a"] = "A", ["c"] = "C" });

        CacheResult<string>[] results = await t.Region.GetManyAsync<string>(["c", "b", "a"]);
        Assert.Equal([true, false, true], results.Select(r => r.HasValue));
        Assert.Equal("C", results[0].Value);
        Assert.Equal("A", results[2].Value);

        await t.Region.RemoveManyAsync(["a", "c"]);
        Assert.All(await t.Region.GetManyAsync<string>(["a", "c"]), r => Assert.False(r.HasValue));
    }

    [Fact]
    public async Task GetOrCreateMany_CreatorFails_StaleKeysFallBackMissingKeysThrow()
    {
        await using var t = new TestRegion(o => o.MaxStaleness = TimeSpan.FromMinutes(1));
        await t.Region.SetAsync("a", "old-a");
        t.Time.Advance(TimeSpan.FromMinutes(3)); // too stale to serve normally, within the stale window

        string[] onlyStale = await t.Region.GetOrCreateManyAsync<string>(["a"], (_, _) => throw new IOException("down"));
        Assert.Equal(["old-a"], onlyStale);

        await Assert.ThrowsAsync<IOException>(async () =>
            await t.Region.GetOrCreateManyAsync<string>(["a", "missing"], (_, _) => throw new IOException("down")));
    }
}
