using System.Text;
using Dogpile.Testing;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NeoSmart.Caching.Sqlite;

namespace Dogpile.Tests.Backends;

/// <summary>A SQLite <see cref="IDistributedCache"/> on a temporary file, deleted with the test.</summary>
public sealed class SqliteStore : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dogpile-sqlite-").FullName;

    static SqliteStore() => SQLitePCL.Batteries.Init();

    public SqliteStore()
    {
        Cache = new SqliteCache(Options.Create(new SqliteCacheOptions { CachePath = Path.Combine(_directory, "cache.db") }));
    }

    public SqliteCache Cache { get; }

    public void Dispose()
    {
        Cache.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class SqliteDistributedCacheBackendConformanceTests : CacheBackendConformanceTests, IDisposable
{
    private readonly SqliteStore _store = new();

    protected override ICacheBackend CreateBackend() => new DistributedCacheBackend(_store.Cache);

    // SQLite's cache checks expirations against the wall clock when it reads.
    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    public void Dispose() => _store.Dispose();
}

public sealed class DistributedCacheBackendTests : IDisposable
{
    private readonly SqliteStore _store = new();

    public void Dispose() => _store.Dispose();

    private static CacheEntry Entry(int payloadBytes) => new(new byte[payloadBytes], 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero);

    [Fact]
    public async Task Set_EnvelopeOverMaxValueBytes_ThrowsAndWritesNothing()
    {
        var backend = new DistributedCacheBackend(_store.Cache, new DistributedCacheBackendOptions { MaxValueBytes = 1024 });

        // 26 header bytes + 998 = 1024 fits exactly; one byte more does not.
        await backend.SetAsync("fits", Entry(998), TimeSpan.FromMinutes(1), CancellationToken.None);
        var ex = await Assert.ThrowsAsync<CacheValueTooLargeException>(() => backend.SetAsync("big", Entry(999), TimeSpan.FromMinutes(1), CancellationToken.None).AsTask());

        Assert.Contains("big", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(await _store.Cache.GetAsync("fits"));
        Assert.Null(await _store.Cache.GetAsync("big"));
    }

    [Fact]
    public async Task SetMany_OneEntryTooLarge_WritesNoneOfThem()
    {
        var backend = new DistributedCacheBackend(_store.Cache, new DistributedCacheBackendOptions { MaxValueBytes = 100 });

        await Assert.ThrowsAsync<CacheValueTooLargeException>(() => backend.SetManyAsync(
            [new CacheWrite("small", Entry(10), TimeSpan.FromMinutes(1)), new CacheWrite("large", Entry(500), TimeSpan.FromMinutes(1))],
            CancellationToken.None).AsTask());

        Assert.Null(await _store.Cache.GetAsync("small"));
    }

    [Fact]
    public async Task Set_StoresTheEnvelopeWithTheTimeToLiveAsAbsoluteExpiration()
    {
        var backend = new DistributedCacheBackend(_store.Cache);
        CacheEntry entry = new(Encoding.UTF8.GetBytes("v"), 638_000_000_000_000_000, TimeSpan.FromSeconds(1), TimeSpan.Zero);

        await backend.SetAsync("k", entry, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(entry.ToBytes(), await _store.Cache.GetAsync("k"));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Null(await _store.Cache.GetAsync("k"));
    }

    [Fact]
    public async Task Get_BytesThatAreNotAnEnvelope_ThrowsSerializationExceptionAndGetManyReadsAMiss()
    {
        var backend = new DistributedCacheBackend(_store.Cache);
        await _store.Cache.SetAsync("garbage", Encoding.UTF8.GetBytes("written by someone else"));

        await Assert.ThrowsAsync<CacheSerializationException>(() => backend.GetAsync("garbage", CancellationToken.None).AsTask());
        Assert.Equal([null], await backend.GetManyAsync(["garbage"], CancellationToken.None));
    }

    [Fact]
    public void DefaultKeyMangler_KeepsKeysWithinMaxKeyLengthAndHashesLongerOnes()
    {
        var backend = new DistributedCacheBackend(_store.Cache, new DistributedCacheBackendOptions { MaxKeyLength = 100 });
        string fits = new('k', 100), tooLong = new('k', 101), multiByte = new('é', 51);   // 102 UTF-8 bytes

        Assert.Equal(fits, backend.DefaultKeyMangler(fits));
        Assert.Equal("sha256:" + KeyManglers.Sha256(tooLong), backend.DefaultKeyMangler(tooLong));
        Assert.StartsWith("sha256:", backend.DefaultKeyMangler(multiByte), StringComparison.Ordinal);
    }

    [Fact]
    public void Options_EveryInvalidValue_IsListedInOneException()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DistributedCacheBackend(
            _store.Cache, new DistributedCacheBackendOptions { MaxValueBytes = 0, MaxKeyLength = 10, MaxConcurrentCalls = 0 }));

        Assert.Contains("3 problems", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DistributedCacheBackendOptions.MaxValueBytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DistributedCacheBackendOptions.MaxKeyLength", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DistributedCacheBackendOptions.MaxConcurrentCalls", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDistributedCacheBackend_RegionsShareTheRegisteredStoreEachUnderItsNamePrefix()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IDistributedCache>(_store.Cache);
        services.AddDogpile()
            .AddDistributedCacheBackend(o => o.MaxValueBytes = 64 * 1024)
            .AddRegion("bugs")
            .AddRegion("local", o => o.Memory = new MemoryCacheBackendOptions { Capacity = 10 });
        await using ServiceProvider provider = services.BuildServiceProvider();

        var bugs = provider.GetRequiredKeyedService<CacheRegion>("bugs");
        var local = provider.GetRequiredKeyedService<CacheRegion>("local");
        int value = await bugs.GetOrCreateAsync("42", _ => new ValueTask<int>(42));

        Assert.Equal(42, value);
        Assert.Same(provider.GetRequiredService<DistributedCacheBackend>(), bugs.Backend);
        Assert.IsType<MemoryCacheBackend>(local.Backend);
        byte[]? stored = await _store.Cache.GetAsync("bugs:42");
        Assert.NotNull(stored);
        Assert.Equal("42", Encoding.UTF8.GetString(CacheEntry.FromBytes(stored).Payload.Span));
    }

    [Fact]
    public async Task Region_OverTheStore_ServesOneCreationToEveryConcurrentCallerInThisProcess()
    {
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "r", Backend = new DistributedCacheBackend(_store.Cache) });
        using var gate = new SemaphoreSlim(0);
        int creations = 0;

        Task<string>[] callers = [.. Enumerable.Range(0, 8).Select(_ => region.GetOrCreateAsync("k", async ct =>
        {
            Interlocked.Increment(ref creations);
            await gate.WaitAsync(ct);
            return "v";
        }).AsTask())];
        await Eventually.TrueAsync(() => Volatile.Read(ref creations) == 1, "the first caller starts creating");
        gate.Release();

        Assert.All(await Task.WhenAll(callers), v => Assert.Equal("v", v));
        Assert.Equal(1, creations);
    }

    [Fact]
    public async Task NearCacheHit_DoesNotCallTheDistributedCache_UntilItsDurationEnds()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var counted = new CountingDistributedCache(_store.Cache);
        await using var region = new CacheRegion(
            new CacheRegionOptions
            {
                Name = "near",
                Backend = new DistributedCacheBackend(counted),
                Expiration = TimeSpan.FromMinutes(5),
                NearCache = new NearCacheOptions { Duration = TimeSpan.FromSeconds(1) },
            },
            time);
        await region.SetAsync("k", "v");
        int readsAfterSet = counted.Reads;

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        }

        // Served from the near cache: the store was not read. No change feed, so each entry is trusted for the Duration.
        Assert.Equal(readsAfterSet, counted.Reads);
        Assert.Equal(NearCacheState.TimeBounded, region.GetStatistics().NearCache);

        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        Assert.Equal(readsAfterSet + 1, counted.Reads);
    }

    /// <summary>The real store, with its reads counted.</summary>
    private sealed class CountingDistributedCache(IDistributedCache inner) : IDistributedCache
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public byte[]? Get(string key)
        {
            Interlocked.Increment(ref _reads);
            return inner.Get(key);
        }

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
        {
            Interlocked.Increment(ref _reads);
            return inner.GetAsync(key, token);
        }

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => inner.Set(key, value, options);

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => inner.SetAsync(key, value, options, token);

        public void Refresh(string key) => inner.Refresh(key);

        public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

        public void Remove(string key) => inner.Remove(key);

        public Task RemoveAsync(string key, CancellationToken token = default) => inner.RemoveAsync(key, token);
    }
}
