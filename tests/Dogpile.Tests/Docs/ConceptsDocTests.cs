using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Docs;

/// <summary>docs/concepts.md: every example runs as written, and does what the page says it does.</summary>
public sealed class ConceptsDocTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private int _prices;

    private sealed record Profile(string Name);

    private static ValueTask<string> FetchSummaryAsync(string package, CancellationToken ct) => new($"{package}: the Linux kernel");

    private ValueTask<int> FetchPriceAsync(CancellationToken ct) => new(100 + Interlocked.Increment(ref _prices));

    private static ValueTask<string> FetchHeadlinesAsync(CancellationToken ct) => new("new headlines");

    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(DocPages.Read("docs/concepts.md"));
        Assert.Equal(8, blocks.Count);
        Assert.Equal(blocks, DocPages.MarkedCode("docs/concepts.md"));
    }

    [Fact]
    public async Task Keys_PrefixAndMangler_ApplyAtTheBackendOnly()
    {
        // --- docs/concepts.md ---
        await using var packages = new CacheRegion(new CacheRegionOptions
        {
            Name = "packages",
            KeyPrefix = "packages:",
            KeyMangler = KeyManglers.Sha256,   // the backend sees "packages:" + a hash; you keep using "kernel"
        });
        string summary = await packages.GetOrCreateAsync("kernel", ct => FetchSummaryAsync("kernel", ct));
        // --- end ---

        Assert.Equal("kernel: the Linux kernel", summary);
        Assert.True((await packages.GetAsync<string>("kernel")).HasValue);
        Assert.NotNull(await packages.Backend.GetAsync("packages:" + KeyManglers.Sha256("kernel"), CancellationToken.None));
    }

    [Fact]
    public async Task Freshness_ExpiredValue_IsServedStaleAtOnce()
    {
        // --- docs/concepts.md ---
        await using var prices = new CacheRegion(new CacheRegionOptions
        {
            Name = "prices",
            Expiration = TimeSpan.FromMinutes(1),
            StaleWindow = TimeSpan.FromHours(1),
            MaxStaleness = TimeSpan.FromMinutes(10),
            BackgroundRefresh = true,
            EarlyRefreshRatio = 0,   // off, to show a stale value (see "Refresh in the background, and early" below)
        }, time);

        CacheItem<int> first = await prices.GetOrCreateItemAsync("eur", 0, (_, ct) => FetchPriceAsync(ct));  // Miss
        time.Advance(TimeSpan.FromMinutes(2));                                                            // expired
        CacheItem<int> second = await prices.GetOrCreateItemAsync("eur", 0, (_, ct) => FetchPriceAsync(ct)); // Stale, at once
        // --- end ---

        Assert.Equal(CacheItemSource.Miss, first.Source);
        Assert.Equal(CacheItemSource.Stale, second.Source);
        Assert.True(second.IsStale);
        Assert.Equal(first.Value, second.Value);
        Assert.Equal(TimeSpan.FromMinutes(2), second.Age);
    }

    [Fact]
    public async Task Locks_HundredConcurrentCallers_OneCreatorCall()
    {
        // --- docs/concepts.md ---
        await using var bugs = new CacheRegion(new CacheRegionOptions { Name = "bugs", LockTimeout = TimeSpan.FromSeconds(10) });
        int calls = 0;
        var upstream = new TaskCompletionSource<string[]>();
        async ValueTask<string[]> FetchBugsAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            return await upstream.Task.WaitAsync(ct);
        }

        Task<string[]>[] callers = [.. Enumerable.Range(0, 100).Select(_ => bugs.GetOrCreateAsync("kernel", FetchBugsAsync).AsTask())];
        upstream.SetResult(["it crashes"]);
        string[][] answers = await Task.WhenAll(callers);   // 100 answers, one call upstream: calls == 1
        // --- end ---

        Assert.Equal(1, calls);
        Assert.Equal(100, answers.Length);
        Assert.All(answers, a => Assert.Equal(["it crashes"], a));
    }

    [Fact]
    public async Task StaleIfError_FailingRefresh_ServesStaleValue()
    {
        // --- docs/concepts.md ---
        await using var tracker = new CacheRegion(new CacheRegionOptions { Name = "tracker", Expiration = TimeSpan.FromMinutes(1) }, time);
        await tracker.SetAsync("kernel", "12 open bugs");
        time.Advance(TimeSpan.FromMinutes(2));   // stale now, and the tracker is down

        string answer = await tracker.GetOrCreateAsync<string>("kernel", _ => throw new HttpRequestException("503"));
        // answer == "12 open bugs": the stale value, served because the refresh failed
        // --- end ---

        Assert.Equal("12 open bugs", answer);
        Assert.Equal(1, tracker.GetStatistics().RefreshesFailed);

        // Within the back-off nobody retries.
        int retries = 0;
        Assert.Equal("12 open bugs", await tracker.GetOrCreateAsync("kernel", _ => { retries++; return new ValueTask<string>("fixed"); }));
        Assert.Equal(0, retries);
    }

    [Fact]
    public async Task Invalidation_SoftServesStale_HardWaitsForNewValue()
    {
        // --- docs/concepts.md ---
        await using var news = new CacheRegion(new CacheRegionOptions { Name = "news", BackgroundRefresh = true });
        await news.SetAsync("front-page", "old headlines");

        await news.InvalidateAsync(InvalidationMode.Soft);   // served as stale while one refresh runs
        CacheItem<string> soft = await news.GetOrCreateItemAsync("front-page", 0, (_, ct) => FetchHeadlinesAsync(ct));
        // soft.Value == "old headlines", soft.Source == CacheItemSource.Stale

        await news.InvalidateAsync(InvalidationMode.Hard);   // treated as missing: this call gets a new value
        CacheItem<string> hard = await news.GetOrCreateItemAsync("front-page", 0, (_, ct) => FetchHeadlinesAsync(ct));
        // hard.Value == "new headlines"
        // --- end ---

        Assert.Equal("old headlines", soft.Value);
        Assert.Equal(CacheItemSource.Stale, soft.Source);
        Assert.Equal("new headlines", hard.Value);
        Assert.NotEqual(CacheItemSource.Stale, hard.Source);
    }

    [Fact]
    public async Task BoundedMemory_SizeLimitAndWeigher_Apply()
    {
        // --- docs/concepts.md ---
        await using var pages = new CacheRegion(new CacheRegionOptions
        {
            Name = "pages",
            Memory = new MemoryCacheBackendOptions
            {
                Capacity = 50_000,
                SizeLimit = 256L * 1024 * 1024,                         // 256 MiB
                Weigher = (key, entry) => ((string)entry.Value!).Length * 2L + key.Length * 2L + 64,
            },
        });
        // --- end ---

        await pages.SetAsync("home", "<html>home</html>");
        Assert.Equal("<html>home</html>", (await pages.GetAsync<string>("home")).Value);
    }

    [Fact]
    public async Task ShouldCache_DeclinedValue_IsReturnedNotStored()
    {
        // --- docs/concepts.md ---
        await using var search = new CacheRegion(new CacheRegionOptions { Name = "search" });
        var onlyNonEmpty = new CacheEntryOptions { ShouldCache = value => value is string[] { Length: > 0 } };
        string[] results = await search.GetOrCreateAsync("zzz", _ => new ValueTask<string[]>([]), onlyNonEmpty);
        bool stored = (await search.GetAsync<string[]>("zzz")).HasValue;   // false: an empty answer is not kept
        // --- end ---

        Assert.Empty(results);
        Assert.False(stored);
    }

    [Fact]
    public async Task ValueValidator_InvalidStoredValue_IsAMiss()
    {
        // --- docs/concepts.md ---
        var options = new CacheRegionOptions
        {
            Name = "profiles",
            ValueValidator = value => value is Profile { Name.Length: > 0 },
        };
        // --- end ---

        options.Backend = new Dogpile.Testing.BytesMemoryBackend(time);   // a byte-oriented store, as Redis is
        await using var profiles = new CacheRegion(options, time);
        await profiles.SetAsync("ada", new Profile("Ada"));
        await profiles.SetAsync("nobody", new Profile(""));
        Assert.Equal("Ada", (await profiles.GetAsync<Profile>("ada")).Value.Name);
        Assert.False((await profiles.GetAsync<Profile>("nobody")).HasValue);
        Assert.Equal(1, profiles.GetStatistics().UnreadableEntries);
    }
}
