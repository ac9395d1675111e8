using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>Builds <see cref="DogpileRedis"/> instances on a test server, each with its own key prefix and client name.</summary>
internal static class TestRedis
{
    public static DogpileRedis Create(RedisServer server, Action<DogpileRedisOptions>? configure = null, string? prefix = null)
        => Create(server.ConnectionString, configure, prefix);

    public static DogpileRedis Create(string connectionString, Action<DogpileRedisOptions>? configure = null, string? prefix = null)
    {
        var options = new DogpileRedisOptions
        {
            Configuration = ConfigurationOptions.Parse(connectionString),
            KeyPrefix = prefix ?? NewPrefix(),
        };
        configure?.Invoke(options);
        return new DogpileRedis(options, null, TestLog.Instance);
    }

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    public static CacheRegion Region(DogpileRedis redis, string name = "test", Action<CacheRegionOptions>? configure = null, bool useQueue = false)
    {
        var options = new CacheRegionOptions
        {
            Name = name,
            Expiration = TimeSpan.FromMinutes(1),
            StaleWindow = TimeSpan.FromMinutes(10),
        };
        configure?.Invoke(options);
        redis.ApplyTo(options, useQueue);
        return new CacheRegion(options, null, TestLog.Instance);
    }

    /// <summary>
    /// Connects <paramref name="waiter"/> and has it listen for lock releases (its first acquire would start that without
    /// waiting). A test that pauses so a waiter can park must not count on a fresh instance doing both within the pause:
    /// under a loaded run it may not, and its waiter then misses the release notice, or takes the lock after it.
    /// </summary>
    public static async Task<DogpileRedis> ListeningAsync(this DogpileRedis waiter)
    {
        // A multiplexer that has just connected may not have its subscription connection up yet: SUBSCRIBE then fails
        // at once ("No connection is active"), and the library retries on the next call. A test waits for it instead.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await waiter.Locks.ListenForReleasesAsync();
                return waiter;
            }
            catch (Exception ex) when (attempt < 50 && (ex is DogpileRedisUnavailableException || Dogpile.Redis.Internal.RedisConnection.IsUnavailable(ex)))
            {
                await Task.Delay(100);
            }
        }
    }

    public static async Task<IDatabase> DbAsync(this DogpileRedis redis) => (await redis.GetMultiplexerAsync()).GetDatabase();
}
