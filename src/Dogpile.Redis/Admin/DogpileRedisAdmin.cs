using System.Globalization;
using System.Text;
using Dogpile.Redis.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// Operations on what Dogpile keeps in Redis, for an operator or a script: the refresh queue's state, its dead letters
/// (list, show, replay, purge), the held creation locks, one key's entry, lock and pending job, removing a key, and
/// invalidating a region so that every running process applies it. The <c>dogpile</c> CLI is a thin layer over it.
/// </summary>
/// <remarks>
/// <para>It reads the key layout from the <see cref="DogpileRedis"/> it is given: build that with the same
/// <see cref="DogpileRedisOptions.KeyPrefix"/>, <see cref="DogpileRedisOptions.QueueName"/> and
/// <see cref="DogpileRedisOptions.ConsumerGroup"/> as the applications. Cache keys are taken as backend keys: the
/// region's <see cref="CacheRegionOptions.KeyPrefix"/> (<c>{region name}:</c> when <see cref="DogpileRedis.ApplyTo"/>
/// set it) followed by the caller's key.</para>
/// <para>Every call is bounded by <see cref="DogpileRedisOptions.OperationTimeout"/> and throws
/// <see cref="DogpileRedisUnavailableException"/> when Redis does not answer; the scans (<see cref="ListLocksAsync"/>,
/// <see cref="RegionIsKnownAsync"/>) walk the keyspace with <c>SCAN</c> and are bounded per page.</para>
/// </remarks>
public sealed partial class DogpileRedisAdmin
{
    private const int ScanPageSize = 1000;

    private readonly DogpileRedis _redis;
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;

    /// <summary>Creates the admin over <paramref name="redis"/>'s connection and key layout.</summary>
    /// <param name="redis">The Redis parts, built with the applications' key prefix, queue name and consumer group.</param>
    public DogpileRedisAdmin(DogpileRedis redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        _connection = redis.Connection;
        _keys = _connection.Keys;
        _time = redis.TimeProvider;
    }

    /// <summary>Round-trips a <c>PING</c>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The round-trip time.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
        => _connection.RunAsync(db => db.PingAsync(), "PING", cancellationToken);

    /// <summary>SCAN on every primary; the first call checks the connection so a wrong address fails with the usual message.</summary>
    private async IAsyncEnumerable<RedisKey> ScanAsync(string pattern, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _ = await PingAsync(cancellationToken).ConfigureAwait(false);
        IConnectionMultiplexer multiplexer = await _connection.GetMultiplexerAsync().ConfigureAwait(false);
        int database = multiplexer.GetDatabase().Database;
        foreach (IServer server in multiplexer.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            IAsyncEnumerator<RedisKey> keys = server.KeysAsync(database, pattern, ScanPageSize).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    bool more;
                    long started = _time.GetTimestamp();
                    try
                    {
                        more = await keys.MoveNextAsync().AsTask().WaitAsync(_connection.Timeout, _time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (RedisConnection.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
                    {
                        throw _connection.Unavailable("SCAN", ex, _time.GetElapsedTime(started));
                    }

                    if (!more)
                    {
                        break;
                    }

                    yield return keys.Current;
                }
            }
            finally
            {
                await keys.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static DateTimeOffset? UnixMs(string? text)
        => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    /// <summary>Escapes the characters SCAN's MATCH treats as a pattern, so a prefix is matched literally.</summary>
    private static string EscapeGlob(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
