namespace Dogpile.Testing;

/// <summary>
/// The refresh-runner contract, by example, seen from a region: a stale value is served at once and refreshed in the
/// background exactly once, a failed refresh keeps the stale value and frees the key, and a refreshed key can be
/// refreshed again. Subclassed for the in-process runner (memory and memcached) and the Redis queue with its worker.
/// </summary>
/// <remarks>Refreshes are asked of cached functions: the durable queue carries only those (a closure cannot travel).</remarks>
public abstract class RefreshRunnerConformanceTests
{
    private int _calls;

    /// <summary>How often the function under test ran.</summary>
    protected int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, the function throws it.</summary>
    protected Exception? FailWith { get; set; }

    /// <summary>
    /// A region with background refresh on, whose refreshes go to the runner under test, with whatever runs them already
    /// started (a worker, for a queue). The subclass disposes what it creates.
    /// </summary>
    /// <param name="name">The region's name (unique per test).</param>
    /// <param name="configure">The suite's settings, to apply before the region is built.</param>
    protected abstract ValueTask<CacheRegion> CreateRegionAsync(string name, Action<CacheRegionOptions> configure);

    private async Task<(CacheRegion Region, CachedFunction<string, string> Fetch)> CreateAsync()
    {
        CacheRegion region = await CreateRegionAsync("refresh" + Guid.NewGuid().ToString("N")[..8], options =>
        {
            options.Expiration = TimeSpan.FromMinutes(1);
            options.StaleWindow = TimeSpan.FromMinutes(10);
            options.BackgroundRefresh = true;
            options.EarlyRefreshRatio = 0;
        });
        CachedFunction<string, string> fetch = region.CreateFunction<string, string>("fetch", async (arg, ct) =>
        {
            int call = Interlocked.Increment(ref _calls);
            await Task.Yield();
            return FailWith is { } failure ? throw failure : $"fresh-{arg}-{call}";
        });
        return (region, fetch);
    }

    /// <summary>Stores an already expired value for the argument, so the next call is served stale and elects a refresh.</summary>
    private static async Task MakeStaleAsync(CacheRegion region, CachedFunction<string, string> fetch, string arg)
    {
        await region.SetAsync(fetch.KeyFor(arg), "old-" + arg, new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        await Eventually.TrueAsync(async () => (await region.GetItemAsync<string>(fetch.KeyFor(arg)))?.IsStale == true, $"'{arg}' is stale");
    }

    private static async Task<string?> CurrentAsync(CachedFunction<string, string> fetch, string arg)
    {
        CacheResult<string> result = await fetch.GetAsync(arg);
        return result.HasValue ? result.Value : null;
    }

    private static Task RefreshedAsync(CachedFunction<string, string> fetch, string arg, string expected)
        => Eventually.TrueAsync(async () => await CurrentAsync(fetch, arg) == expected, $"'{arg}' was refreshed to {expected}", TimeSpan.FromSeconds(20));

    [Fact]
    public async Task StaleValue_IsServedAtOnce_AndRefreshedInTheBackground()
    {
        (CacheRegion region, CachedFunction<string, string> fetch) = await CreateAsync();
        await MakeStaleAsync(region, fetch, "a");

        Assert.Equal("old-a", await fetch.InvokeAsync("a"));

        await RefreshedAsync(fetch, "a", "fresh-a-1");
        Assert.Equal(1, Calls);
        await Eventually.TrueAsync(async () => !await region.IsLockedAsync(fetch.KeyFor("a")), "the refresh released the key's lock");
    }

    [Fact]
    public async Task ManyConcurrentStaleReads_RefreshTheKeyOnce()
    {
        (CacheRegion region, CachedFunction<string, string> fetch) = await CreateAsync();
        await MakeStaleAsync(region, fetch, "b");

        string[] served = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => fetch.InvokeAsync("b").AsTask()));

        Assert.All(served, value => Assert.True(value is "old-b" or "fresh-b-1", value));
        await RefreshedAsync(fetch, "b", "fresh-b-1");
        Assert.Equal(1, Calls);
    }

    [Fact]
    public async Task RefreshesOfManyKeys_AllComplete()
    {
        (CacheRegion region, CachedFunction<string, string> fetch) = await CreateAsync();
        string[] args = Enumerable.Range(0, 8).Select(i => "k" + i).ToArray();
        foreach (string arg in args)
        {
            await MakeStaleAsync(region, fetch, arg);
        }

        foreach (string arg in args)
        {
            Assert.Equal("old-" + arg, await fetch.InvokeAsync(arg));
        }

        await Eventually.TrueAsync(
            async () => (await Task.WhenAll(args.Select(a => CurrentAsync(fetch, a)))).All(v => v?.StartsWith("fresh-", StringComparison.Ordinal) == true),
            "every key was refreshed",
            TimeSpan.FromSeconds(20));
        Assert.Equal(args.Length, Calls);
    }

    [Fact]
    public async Task FailedRefresh_KeepsTheStaleValue_AndFreesTheKey()
    {
        (CacheRegion region, CachedFunction<string, string> fetch) = await CreateAsync();
        await MakeStaleAsync(region, fetch, "c");
        FailWith = new InvalidOperationException("the upstream is down");

        Assert.Equal("old-c", await fetch.InvokeAsync("c"));

        await Eventually.TrueAsync(() => Calls >= 1, "the refresh ran");
        await Eventually.TrueAsync(async () => !await region.IsLockedAsync(fetch.KeyFor("c")), "the failed refresh released the key's lock");
        CacheItem<string>? item = await region.GetItemAsync<string>(fetch.KeyFor("c"));
        Assert.NotNull(item);
        Assert.Equal("old-c", item.Value.Value);
        Assert.True(item.Value.IsStale);
    }

    [Fact]
    public async Task RefreshedKey_CanBeRefreshedAgain()
    {
        (CacheRegion region, CachedFunction<string, string> fetch) = await CreateAsync();
        await MakeStaleAsync(region, fetch, "d");
        Assert.Equal("old-d", await fetch.InvokeAsync("d"));
        await RefreshedAsync(fetch, "d", "fresh-d-1");
        await Eventually.TrueAsync(async () => !await region.IsLockedAsync(fetch.KeyFor("d")), "the first refresh released the key's lock");

        await MakeStaleAsync(region, fetch, "d");
        Assert.Equal("old-d", await fetch.InvokeAsync("d"));

        await RefreshedAsync(fetch, "d", "fresh-d-2");
        Assert.Equal(2, Calls);
    }
}
