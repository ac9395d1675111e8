using StackExchange.Redis;

namespace Dogpile.Redis;

// The held creation locks.
public sealed partial class DogpileRedisAdmin
{
    /// <summary>Finds the held creation locks (a <c>SCAN</c> for lock keys), with owner, remaining lease and fence.</summary>
    /// <param name="max">The most to return.</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The locks found, in scan order.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<IReadOnlyList<RedisLockInfo>> ListLocksAsync(int max = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        string pattern = EscapeGlob(_keys.Prefix) + ":{*}:lock";
        var locks = new List<RedisLockInfo>();
        await foreach (RedisKey key in ScanAsync(pattern, cancellationToken).ConfigureAwait(false))
        {
            string redisKey = (string)key!;
            string backendKey = redisKey[(_keys.Prefix.Length + 2)..^"}:lock".Length];
            RedisLockInfo? held = await ReadLockAsync(backendKey, cancellationToken).ConfigureAwait(false);
            if (held is not null)
            {
                locks.Add(held);
                if (locks.Count >= max)
                {
                    break;
                }
            }
        }

        return locks;
    }

    private async ValueTask<RedisLockInfo?> ReadLockAsync(string backendKey, CancellationToken cancellationToken)
    {
        string lockKey = _keys.Lock(backendKey);
        RedisValue owner = await _connection.RunAsync(db => db.StringGetAsync(lockKey), "GET", cancellationToken).ConfigureAwait(false);
        if (owner.IsNull)
        {
            return null;
        }

        TimeSpan? lease = await _connection.RunAsync(db => db.KeyTimeToLiveAsync(lockKey), "PTTL", cancellationToken).ConfigureAwait(false);
        RedisValue fence = await _connection.RunAsync(db => db.StringGetAsync(_keys.Fence(backendKey)), "GET", cancellationToken).ConfigureAwait(false);
        return new RedisLockInfo(backendKey, (string)owner!, lease, fence.TryParse(out long f) ? f : null);
    }
}
