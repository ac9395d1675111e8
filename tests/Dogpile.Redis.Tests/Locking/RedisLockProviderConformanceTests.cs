using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Locking;

/// <summary>The lock-provider contract on a real redis-server: each provider is a <see cref="DogpileRedis"/> with its own connection.</summary>
public sealed class RedisLockProviderConformanceTests(RedisServer server) : LockProviderConformanceTests, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _prefix = TestRedis.NewPrefix();
    private readonly List<DogpileRedis> _connections = [];
    private DogpileRedis? _store;

    protected override ICacheBackend Backend => (_store ??= TestRedis.Create(server, prefix: _prefix)).Backend;

    protected override bool HasFencingTokens => true;

    protected override async ValueTask<ICacheLockProvider> CreateProviderAsync(TimeProvider time)
    {
        var options = new DogpileRedisOptions { Configuration = ConfigurationOptions.Parse(server.ConnectionString), KeyPrefix = _prefix };
        var redis = new DogpileRedis(options, time, TestLog.Instance);
        _connections.Add(redis);

        // Subscribed before the test starts, so a release is heard as soon as it is published.
        await redis.ListeningAsync();
        return redis.LockProvider;
    }

    protected override async ValueTask ExpireLeaseAsync(string key)
    {
        IDatabase admin = await server.AdminAsync();
        Assert.True(await admin.KeyDeleteAsync(_connections[0].Connection.Keys.Lock(key)), $"no lock on '{key}' to expire");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        foreach (DogpileRedis redis in _connections)
        {
            await redis.DisposeAsync();
        }
    }
}
