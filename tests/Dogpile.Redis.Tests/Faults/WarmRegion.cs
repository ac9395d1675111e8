using System.Collections.Concurrent;
using Dogpile.Redis.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Faults;

/// <summary>
/// A region on Redis (backend, lock, invalidation; the default 30 s lock lease) whose keys were warmed with "v1", on a
/// fake clock for the region, so a test makes them stale at will. Redis itself and its client run on real time.
/// </summary>
internal sealed class WarmRegion : IAsyncDisposable
{
    public const int KeyCount = 20;

    private readonly RedisServer _server;

    private WarmRegion(RedisServer server, DogpileRedis redis, CacheRegion region, FakeTimeProvider time)
    {
        _server = server;
        Redis = redis;
        Region = region;
        Time = time;
    }

    public DogpileRedis Redis { get; }

    public CacheRegion Region { get; }

    public FakeTimeProvider Time { get; }

    public static IEnumerable<string> Keys => Enumerable.Range(0, KeyCount).Select(i => "k" + i);

    /// <summary>The region, with every key warmed; Redis calls time out after 500 ms.</summary>
    public static async Task<WarmRegion> CreateAsync(RedisServer server, string name)
    {
        DogpileRedis redis = TestRedis.Create(server, o => o.OperationTimeout = TimeSpan.FromMilliseconds(500));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new CacheRegionOptions { Name = name, Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10) };
        redis.ApplyTo(options, useRefreshQueue: false);
        var region = new CacheRegion(options, time, TestLog.Instance);
        foreach (string key in Keys)
        {
            Assert.Equal("v1", await region.GetOrCreateAsync(key, _ => ValueTask.FromResult("v1")));
        }

        // The release listener is up, so a later test step does not wait for it.
        await redis.ListeningAsync();
        return new WarmRegion(server, redis, region, time);
    }

    /// <summary>Every key past its expiration, well within its stale window.</summary>
    public void MakeStale() => Time.Advance(TimeSpan.FromMinutes(2));

    /// <summary>Two callers per key at once, each asking for the key with a creator of <paramref name="value"/>.</summary>
    public async Task<(string[] Values, Exception[] Errors)> CallEveryKeyAsync(string value)
    {
        var values = new ConcurrentBag<string>();
        var errors = new ConcurrentBag<Exception>();
        await Task.WhenAll(Keys.Concat(Keys).Select(async key =>
        {
            try
            {
                values.Add(await Region.GetOrCreateAsync(key, _ => ValueTask.FromResult(value)));
            }
#pragma warning disable CA1031 // Collected for the assertion.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                errors.Add(ex);
            }
        }));
        return (values.ToArray(), errors.ToArray());
    }

    /// <summary>
    /// Reads every key until each one was refreshed to <paramref name="value"/>; fails after <paramref name="bound"/> (real
    /// time). The region's clock moves a second per round, so the back-off that follows a refresh that could not start
    /// (<see cref="CacheRegionOptions.RefreshFailureBackoff"/>) passes; a lock left in Redis does not, its lease runs on
    /// the server's real clock.
    /// </summary>
    public async Task UntilEveryKeyIsAsync(string value, TimeSpan bound, string because)
    {
        var left = new HashSet<string>(Keys, StringComparer.Ordinal);
        DateTime deadline = DateTime.UtcNow + bound;
        while (left.Count > 0)
        {
            foreach (string key in left.ToArray())
            {
                try
                {
                    if (await Region.GetOrCreateAsync(key, _ => ValueTask.FromResult(value)) == value)
                    {
                        left.Remove(key);
                    }
                }
                catch (DogpileRedisUnavailableException)
                {
                    // Not reconnected yet.
                }
            }

            if (left.Count > 0 && DateTime.UtcNow > deadline)
            {
                string locks = string.Join(", ", await LockKeysAsync());
                Assert.Fail($"{left.Count} of {KeyCount} keys were not {value} {bound.TotalSeconds:F0} s after {because} (locks in Redis: {(locks.Length == 0 ? "none" : locks)}).");
            }

            Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }
    }

    /// <summary>The lock keys in Redis under this instance's prefix.</summary>
    public async Task<string[]> LockKeysAsync()
    {
        IDatabase admin = await _server.AdminAsync();
        RedisResult keys = await admin.ExecuteAsync("KEYS", Redis.Options.KeyPrefix + ":*:lock");
        return ((RedisResult[])keys!).Select(key => (string)key!).ToArray();
    }

    /// <summary>Waits until no lock is left in Redis and none waits for its release in this process.</summary>
    public async Task NoLockLeftAsync(TimeSpan bound)
    {
        DateTime deadline = DateTime.UtcNow + bound;
        while (Redis.Locks.PendingReleases.Count > 0 || (await LockKeysAsync()).Length > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Locks left behind: in Redis {string.Join(", ", await LockKeysAsync())}; pending release in process: {Redis.Locks.PendingReleases.Count}.");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Region.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
