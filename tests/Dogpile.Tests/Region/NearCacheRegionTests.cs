using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Region;

/// <summary>A region's near cache in front of a byte-storing shared backend (Redis and memcached have their own tests).</summary>
public sealed class NearCacheRegionTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private CacheRegion Region(SharedBytesBackend backend, NearCacheOptions? near, string prefix = "r:")
        => new(new CacheRegionOptions { Name = "near", Backend = backend, KeyPrefix = prefix, Expiration = TimeSpan.FromMinutes(5), NearCache = near }, _time);

    [Fact]
    public async Task FreshHit_AfterOneRead_NoBackendRead_SynchronousAndAllocationFree()
    {
        var backend = new SharedBytesBackend();
        await using CacheRegion writer = Region(backend, null);
        await writer.SetAsync("k", "v");
        await using CacheRegion region = Region(backend, new NearCacheOptions());
        Func<int, CancellationToken, ValueTask<string>> creator = static (_, _) => throw new InvalidOperationException("a hit must not create");
        Assert.Equal("v", await region.GetOrCreateAsync("k", 0, creator));
        int reads = backend.Reads;

        // Warm up: a hit counter switched on by a metrics listener in a parallel test grows this thread's cells once.
        for (int i = 0; i < 100; i++)
        {
            _ = region.GetOrCreateAsync("k", 0, creator);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int notSynchronous = 0;
        for (int i = 0; i < 1000; i++)
        {
            ValueTask<string> hit = region.GetOrCreateAsync("k", 0, creator);
            notSynchronous += hit.IsCompletedSuccessfully && hit.Result.Length == 1 ? 0 : 1;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, notSynchronous);
        Assert.Equal(0, allocated);
        Assert.Equal(reads, backend.Reads);
    }

    [Fact]
    public async Task WithoutFeed_AnotherProcessWrite_SeenOnceTheDurationPassed_NotBefore()
    {
        var backend = new SharedBytesBackend();
        await using CacheRegion other = Region(backend, null);
        await using CacheRegion region = Region(backend, new NearCacheOptions { Duration = TimeSpan.FromSeconds(1) });
        await other.SetAsync("k", "v1");
        Assert.Equal("v1", (await region.GetAsync<string>("k")).Value);

        await other.SetAsync("k", "v2");
        _time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal("v1", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));

        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("v2", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
    }

    [Fact]
    public async Task WithFeed_AnotherProcessWrite_EvictsAtOnce_NextHitReadsTheNewValue()
    {
        var backend = new SharedBytesBackend { HasFeed = true };
        await using CacheRegion other = Region(backend, null);
        await using CacheRegion region = Region(backend, new NearCacheOptions { Duration = TimeSpan.FromHours(1) });
        await other.SetAsync("k", "v1");
        Assert.Equal("v1", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));

        await other.SetAsync("k", "v2");

        Assert.Equal("v2", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        await other.RemoveAsync("k");
        Assert.Equal("created", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
    }

    [Fact]
    public async Task OwnWrite_WriteThrough_NextHitNeedsNoRead()
    {
        var backend = new SharedBytesBackend();
        await using CacheRegion region = Region(backend, new NearCacheOptions());

        await region.SetAsync("k", "v");

        Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        Assert.Equal(0, backend.Reads);
    }

    [Fact]
    public async Task BackendReadFails_HeldEntryServed_FreshOrStaleWithinMaxStaleness_CreatorNotCalled()
    {
        var backend = new SharedBytesBackend();
        await using CacheRegion region = new(new CacheRegionOptions
        {
            Name = "near", Backend = backend, KeyPrefix = "r:", Expiration = TimeSpan.FromSeconds(10), MaxStaleness = TimeSpan.FromMinutes(1),
            NearCache = new NearCacheOptions(), BackgroundRefresh = true,
        }, _time);
        int creations = 0;
        ValueTask<string> Create(CancellationToken _) => ValueTask.FromResult("v" + Interlocked.Increment(ref creations));
        Assert.Equal("v1", await region.GetOrCreateAsync("k", Create));

        backend.Fail = true;
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("v1", await region.GetOrCreateAsync("k", Create));
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal("v1", await region.GetOrCreateAsync("k", Create));

        Assert.Equal(1, creations);
        await Assert.ThrowsAsync<IOException>(async () => await region.GetOrCreateAsync("unheld", Create));
    }

    [Fact]
    public async Task Disabled_EveryHitReadsTheBackend()
    {
        var backend = new SharedBytesBackend();
        await using CacheRegion region = Region(backend, new NearCacheOptions { Enabled = false });
        await region.SetAsync("k", "v");

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("v", await region.GetOrCreateAsync("k", _ => ValueTask.FromResult("created")));
        }

        Assert.Equal(3, backend.Reads);
    }

    [Fact]
    public void Options_InvalidCapacityOrDuration_RejectedNamingTheOption()
    {
        var backend = new SharedBytesBackend();
        var ex = Assert.Throws<ArgumentException>(() => Region(backend, new NearCacheOptions { Capacity = 0 }));
        Assert.Contains("NearCacheOptions.Capacity", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Region(backend, new NearCacheOptions { Duration = TimeSpan.Zero }));
        Assert.Contains("NearCacheOptions.Duration", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Envelope bytes in a dictionary, as a shared store keeps them; optionally announcing every change to its observers.</summary>
    private sealed class SharedBytesBackend : ICacheBackend, ICacheChangeFeed
    {
        private readonly ConcurrentDictionary<string, byte[]> _values = new(StringComparer.Ordinal);
        private ICacheChangeObserver[] _observers = [];
        private int _reads;

        public bool HasFeed { get; init; }

        public bool Fail { get; set; }

        public int Reads => Volatile.Read(ref _reads);

        public bool StoresObjects => false;

        public int MaxKeyLength => 1024;

        public IDisposable Subscribe(ICacheChangeObserver observer)
        {
            if (HasFeed)
            {
                _observers = [.. _observers, observer];
                observer.OnResumed();
            }

            return new NoSubscription();
        }

        public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reads);
            if (Fail)
            {
                return ValueTask.FromException<CacheEntry?>(new IOException("the shared store is down"));
            }

            return new(_values.TryGetValue(key, out byte[]? bytes) ? CacheEntry.FromBytes(bytes) : null);
        }

        public ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
            => new(keys.Select(k => _values.TryGetValue(k, out byte[]? b) ? CacheEntry.FromBytes(b) : null).ToArray());

        public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
        {
            _values[key] = entry.ToBytes();
            Announce(key);
            return ValueTask.CompletedTask;
        }

        public async ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
        {
            foreach (CacheWrite write in entries)
            {
                await SetAsync(write.Key, write.Entry, write.TimeToLive, cancellationToken);
            }
        }

        public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
        {
            bool removed = _values.TryRemove(key, out _);
            Announce(key);
            return new(removed);
        }

        public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
        {
            foreach (string key in keys)
            {
                _values.TryRemove(key, out _);
                Announce(key);
            }

            return ValueTask.CompletedTask;
        }

        private void Announce(string key)
        {
            foreach (ICacheChangeObserver observer in _observers)
            {
                observer.OnChanged(key, null);
            }
        }

        private sealed class NoSubscription : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
