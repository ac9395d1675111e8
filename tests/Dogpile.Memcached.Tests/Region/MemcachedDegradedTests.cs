using System.Collections.Concurrent;
using System.Diagnostics;
using Dogpile.Memcached.Tests.Infrastructure;
using Dogpile.Testing;

namespace Dogpile.Memcached.Tests.Region;

/// <summary>
/// memcached killed under a region with the default Degrade policy: keys are served with one creator per key in this
/// process, no call waits while the server's breaker is open, and the region is back on memcached within the breaker's
/// longest interval after the server returns.
/// </summary>
public sealed class MemcachedDegradedTests
{
    private static MemcachedClientOptions Options(string server)
    {
        var options = new MemcachedClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(500), ConnectTimeout = TimeSpan.FromSeconds(1) };
        options.Servers.Add(server);
        return options;
    }

    [Fact]
    public async Task ServerKilled_KeysServedDegraded_OneCreatorPerKey_NoCallWaits_RecoversAfterRestart()
    {
        using var server = await MemcachedServer.StartNewAsync();
        MemcachedClientOptions clientOptions = Options(server.Endpoint);
        using var backend = new MemcachedCacheBackend(clientOptions);
        string prefix = $"deg{Guid.NewGuid():N}:";
        await using var region = new CacheRegion(new CacheRegionOptions
        {
            Name = "mc-degraded",
            Backend = backend,
            LockProvider = new MemcachedLockProvider(backend),
            KeyPrefix = prefix,
        });
        var creations = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        ValueTask<string> Create(string key)
        {
            creations.AddOrUpdate(key, 1, (_, n) => n + 1);
            return ValueTask.FromResult("v-" + key);
        }

        Assert.Equal("v-warm", await region.GetOrCreateAsync("warm", "warm", (k, _) => Create(k)));
        creations.Clear();

        await server.KillAsync();
        try
        {
            // The first call finds the server gone (its pooled socket closed, the reconnect refused) and opens the breaker.
            await region.GetOrCreateAsync("opener", _ => ValueTask.FromResult("x"));

            string[] keys = ["warm", .. Enumerable.Range(0, 10).Select(i => "cold" + i)];
            var slowest = TimeSpan.Zero;
            for (int round = 0; round < 5; round++)
            {
                await Task.WhenAll(keys.SelectMany(key => Enumerable.Repeat(key, 4)).Select(async key =>
                {
                    var watch = Stopwatch.StartNew();
                    CacheItem<string> item = await region.GetOrCreateItemAsync(key, key, (k, _) => Create(k));
                    TimeSpan took = watch.Elapsed;
                    lock (creations)
                    {
                        slowest = took > slowest ? took : slowest;
                    }

                    Assert.Equal("v-" + key, item.Value);
                    Assert.True(item.Degraded, $"{key} was not marked degraded");
                }));
            }

            Assert.All(keys, key => Assert.Equal(1, creations.GetValueOrDefault(key)));
            Assert.True(slowest < TimeSpan.FromMilliseconds(100), $"the slowest call took {slowest}");
            CacheRegionStatistics stats = region.GetStatistics();
            Assert.True(stats.BackendReadFailures > 0 && stats.BackendWriteFailures > 0, $"reads {stats.BackendReadFailures}, writes {stats.BackendWriteFailures}");
        }
        finally
        {
            await server.StartAsync();
        }

        var back = Stopwatch.StartNew();
        await Eventually.TrueAsync(
            async () => !(await region.GetOrCreateItemAsync("after" + back.ElapsedTicks, 0, (_, _) => ValueTask.FromResult("after"))).Degraded,
            "the region serves from memcached again",
            TimeSpan.FromSeconds(15));
        Assert.True(back.Elapsed < clientOptions.DeadServerRetryDelay + TimeSpan.FromSeconds(2), $"recovery took {back.Elapsed}");

        // Back on the shared store: a key created now is read back from memcached, not held in this process.
        Assert.Equal("shared", await region.GetOrCreateAsync("shared", _ => ValueTask.FromResult("shared")));
        Assert.NotNull(await backend.GetAsync(prefix + "shared", CancellationToken.None));
    }

    [Fact]
    public async Task ServerFrozen_FirstCallWaitsAtMostTheTimeout_ThenNoCallWaits_OneCreatorPerKey_RecoversAfterResume()
    {
        using var server = await MemcachedServer.StartNewAsync();
        MemcachedClientOptions clientOptions = Options(server.Endpoint);
        using var backend = new MemcachedCacheBackend(clientOptions);
        await using var region = new CacheRegion(new CacheRegionOptions
        {
            Name = "mc-frozen",
            Backend = backend,
            LockProvider = new MemcachedLockProvider(backend),
            KeyPrefix = $"frz{Guid.NewGuid():N}:",
        });
        var creations = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        ValueTask<string> Create(string key)
        {
            creations.AddOrUpdate(key, 1, (_, n) => n + 1);
            return ValueTask.FromResult("v-" + key);
        }

        Assert.Equal("v-warm", await region.GetOrCreateAsync("warm", "warm", (k, _) => Create(k)));
        creations.Clear();

        await server.PauseAsync();
        try
        {
            // A frozen server accepts and never answers: the first call waits for the request timeout, no longer.
            var first = Stopwatch.StartNew();
            CacheItem<string> opener = await region.GetOrCreateItemAsync("opener", "opener", (k, _) => Create(k));
            Assert.True(opener.Degraded);
            Assert.True(first.Elapsed < clientOptions.RequestTimeout + TimeSpan.FromSeconds(1.5), $"the first call took {first.Elapsed}");

            string[] keys = [.. Enumerable.Range(0, 10).Select(i => "cold" + i)];
            var slowest = TimeSpan.Zero;
            for (int round = 0; round < 3; round++)
            {
                await Task.WhenAll(keys.SelectMany(key => Enumerable.Repeat(key, 4)).Select(async key =>
                {
                    var watch = Stopwatch.StartNew();
                    CacheItem<string> item = await region.GetOrCreateItemAsync(key, key, (k, _) => Create(k));
                    lock (creations)
                    {
                        slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
                    }

                    Assert.Equal("v-" + key, item.Value);
                }));
            }

            // The breaker is open: nobody waits for a timeout, and each key was created once in this process.
            Assert.All(keys, key => Assert.Equal(1, creations.GetValueOrDefault(key)));
            Assert.True(slowest < TimeSpan.FromMilliseconds(100), $"the slowest call took {slowest}");
        }
        finally
        {
            server.Resume();
        }

        await Eventually.TrueAsync(
            async () => !(await region.GetOrCreateItemAsync("after" + Stopwatch.GetTimestamp(), 0, (_, _) => ValueTask.FromResult("after"))).Degraded,
            "the region serves from memcached again after the server resumes",
            TimeSpan.FromSeconds(15));
    }
}
