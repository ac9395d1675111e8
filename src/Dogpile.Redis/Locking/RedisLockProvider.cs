using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Dogpile.Redis.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// The cross-process creation lock on Redis: <c>SET lock token NX PX lease</c> and the next fence in one script (one
/// round trip), released and extended only by compare-and-delete / compare-and-pexpire scripts on the owner token.
/// </summary>
/// <remarks>
/// <para>A held lock's lease is renewed every third of <see cref="DogpileRedisOptions.LockLease"/> while its creator runs
/// (unless <see cref="DogpileRedisOptions.RenewLocks"/> is off). Should it still expire and another owner take it, the
/// fence makes the late owner's write fail (<see cref="IFencedCacheBackend.SetAndReleaseAsync"/> returns false).</para>
/// <para>Waiters are woken by the release script's <c>PUBLISH</c>, received on one subscription per process, and poll
/// with a bounded, jittered back-off as a fallback; on each wake a waiter checks for the value before it retries the
/// lock. An uncontended acquire and release cost two round trips.</para>
/// <para>Fences only grow, even when Redis loses the counter (a restart without persistence, a failover): each is at
/// least the server's clock in microseconds (see docs/redis.md for the assumption). An acquire that got no answer, and a
/// release that failed, are released by their token once Redis answers again, so a lock that Redis set after the client
/// gave up (as a frozen server does when it resumes) does not keep the key for a lease.</para>
/// </remarks>
internal sealed class RedisLockProvider : ICacheLockProvider
{
    private static readonly TimeSpan FenceLifetime = TimeSpan.FromDays(7);

    private readonly RedisConnection _connection;
    private readonly TimeProvider _time;
    private readonly bool _renew;
    private readonly TimeSpan _pollMin;
    private readonly TimeSpan _pollMax;
    // Completed by a release notice, with the entry the holder wrote when the notice carried it.
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CacheEntry?>> _waiters = new(StringComparer.Ordinal);

    internal RedisLockProvider(RedisConnection connection, DogpileRedisOptions options, ILogger logger)
    {
        _connection = connection;
        _time = connection.Time;
        Lease = options.LockLease;
        _renew = options.RenewLocks;
        _pollMin = options.LockPollMinInterval;
        _pollMax = options.LockPollMaxInterval;
        Logger = logger;
        PendingReleases = new PendingLockReleases(ReleaseCoreAsync, 2 * Lease, _time, logger, connection.Closing);
    }

    /// <summary>The lease a lock is taken (and renewed) with.</summary>
    public TimeSpan Lease { get; }

    internal ILogger Logger { get; }

    /// <summary>Locks that may be held in Redis with no owner, released once Redis answers again.</summary>
    internal PendingLockReleases PendingReleases { get; }

    /// <inheritdoc />
    /// <remarks>
    /// The script also reads the key's entry, so the elected regenerator of a stale value checks it was not refreshed
    /// meanwhile without another round trip (dogpile reads once before the election and once with it).
    /// </remarks>
    public async ValueTask<ICacheLock?> TryAcquireAsync(string key, CancellationToken cancellationToken)
        => (await TryAcquireCoreAsync(key, readValue: true, cancellationToken).ConfigureAwait(false)).Lock;

    /// <inheritdoc />
    public async ValueTask<bool> IsHeldAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        RedisKey lockKey = _connection.Keys.Lock(key);
        return await _connection.RunAsync(db => db.KeyExistsAsync(lockKey), "EXISTS", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// True for the Redis backend of the same <see cref="DogpileRedis"/>: the entries this provider reads with a lock,
    /// and those release notices carry, are that backend's.
    /// </summary>
    /// <param name="backend">The region's backend.</param>
    /// <returns>Whether the entries this provider hands over come from <paramref name="backend"/>.</returns>
    public bool ReadsFrom(ICacheBackend backend) => backend is RedisCacheBackend redis && ReferenceEquals(redis.Connection, _connection);

    /// <inheritdoc />
    public async ValueTask<ICacheLock?> AcquireAsync(
        string key,
        TimeSpan timeout,
        Func<CacheEntry?, CancellationToken, ValueTask<bool>>? valueProduced,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        long started = _time.GetTimestamp();
        TimeSpan backoff = _pollMin;
        try
        {
            while (true)
            {
                // Watch before trying, so a release between the try and the wait is not missed.
                TaskCompletionSource<CacheEntry?> released = _waiters.GetOrAdd(key, static _ => new TaskCompletionSource<CacheEntry?>(TaskCreationOptions.RunContinuationsAsynchronously));
                _ = ListenForReleasesAsync();
                // The script also reads the value: the holder needs no re-read, and a loser may find the value already there.
                (RedisLockHandle? acquired, CacheEntry? current) = await TryAcquireCoreAsync(key, readValue: valueProduced is not null, cancellationToken).ConfigureAwait(false);
                if (acquired is not null)
                {
                    return acquired;
                }

                if (current is not null && await valueProduced!(current, cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? backoff : timeout - _time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    throw new CacheLockTimeoutException(key, timeout);
                }

                TimeSpan wait = Jitter(backoff < left ? backoff : left);
                CacheEntry? written;
                try
                {
                    written = await released.Task.WaitAsync(wait, _time, cancellationToken).ConfigureAwait(false);
                    backoff = _pollMin;
                }
                catch (TimeoutException)
                {
                    // A poll goes straight back to the lock script, which reads the value in the same round trip.
                    backoff = backoff * 2 < _pollMax ? backoff * 2 : _pollMax;
                    continue;
                }

                // Woken by a release: the value it carried (or, when it carried none, a read of the key).
                if (valueProduced is not null && await valueProduced(written, cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }
            }
        }
        finally
        {
            // One acquirer per key per process (the region coordinates in process first): the watch is ours to drop.
            if (_waiters.TryGetValue(key, out TaskCompletionSource<CacheEntry?>? watch) && !watch.Task.IsCompleted)
            {
                _waiters.TryRemove(new KeyValuePair<string, TaskCompletionSource<CacheEntry?>>(key, watch));
            }
        }
    }

    /// <summary>
    /// Rebuilds a handle from the values a refresh job carried, so a worker can extend, fence-write and release a lock
    /// another process took. Renewal is not started.
    /// </summary>
    /// <param name="key">The backend key.</param>
    /// <param name="ownerToken">The owner token the lock was taken with.</param>
    /// <param name="fencingToken">The fence the lock was taken with.</param>
    /// <returns>The handle.</returns>
    public RedisLockHandle Restore(string key, string ownerToken, long fencingToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(ownerToken);
        return new RedisLockHandle(this, key, ownerToken, fencingToken);
    }

    /// <summary>Tries the lock once; with <paramref name="readValue"/>, also reads the key's entry in the same script.</summary>
    internal async ValueTask<(RedisLockHandle? Lock, CacheEntry? Current)> TryAcquireCoreAsync(string key, bool readValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        string token = NewToken();
        RedisKeys keys = _connection.Keys;
        RedisResult result;
        try
        {
            result = await _connection.RunAsync(
                db => db.ScriptEvaluateAsync(
                    Scripts.Acquire,
                    [keys.Lock(key), keys.Fence(key), keys.Value(key)],
                    [token, Milliseconds(Lease), Milliseconds(FenceLifetime), readValue ? "1" : "0"]),
                "lock acquire",
                cancellationToken).ConfigureAwait(false);
        }
        catch (DogpileRedisUnavailableException ex) when (ex.MayHaveRun)
        {
            // Sent but unanswered: Redis may still run it (a frozen server runs what its socket holds when it resumes)
            // and hold the lock for a whole lease under a token nobody has. Release that token once Redis answers.
            Log.ReleaseScheduled(Logger, ex, key);
            PendingReleases.Add(key, token);
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled while the script was on its way: its outcome is unknown just the same.
            PendingReleases.Add(key, token);
            throw;
        }
        long fence;
        CacheEntry? current = null;
        bool read = false;
        if (readValue)
        {
            var parts = (RedisResult[])result!;
            fence = (long)parts[0];
            byte[]? bytes = (byte[]?)parts[1];

            // An unreadable entry is left to the region's own read, which logs and counts it.
            read = bytes is null || CacheEntry.TryFromBytes(bytes, out current);
        }
        else
        {
            fence = (long)result;
        }

        if (fence == 0)
        {
            return (null, current);
        }

        var handle = new RedisLockHandle(this, key, token, fence) { ReadWithLock = read, EntryReadWithLock = current };
        if (_renew)
        {
            handle.StartRenewal(Lease, _time);
        }

        return (handle, current);
    }

    internal void StartRenewal(RedisLockHandle handle)
    {
        if (_renew)
        {
            handle.StartRenewal(Lease, _time);
        }
    }

    internal async ValueTask<bool> ExtendAsync(RedisLockHandle handle, TimeSpan lease, CancellationToken cancellationToken)
    {
        RedisResult result = await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(Scripts.Extend, [_connection.Keys.Lock(handle.Key)], [handle.OwnerToken, Milliseconds(lease)]),
            "lock extend",
            cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    internal async ValueTask ReleaseAsync(RedisLockHandle handle, CancellationToken cancellationToken)
    {
        try
        {
            await ReleaseCoreAsync(handle.Key, handle.OwnerToken, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DogpileRedisUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The lock may still be there (Redis unreachable) or the release may yet run (no answer): compare-and-delete
            // by this token again once Redis answers; it can only ever delete this handle's own lock.
            PendingReleases.Add(handle.Key, handle.OwnerToken);
            throw;
        }
    }

    private async ValueTask ReleaseCoreAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        RedisKeys keys = _connection.Keys;
        await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(Scripts.Release, [keys.Lock(key)], [ownerToken, keys.LockReleasedChannel, ReleaseNotice.Head(key)]),
            "lock release",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the lock on the key is currently held with this token (for tests and the worker).</summary>
    internal async ValueTask<bool> IsHeldByAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        RedisValue value = await _connection.RunAsync(db => db.StringGetAsync(_connection.Keys.Lock(key)), "GET lock", cancellationToken).ConfigureAwait(false);
        return value == ownerToken;
    }

    /// <summary>Listens for release notices, as the first <see cref="AcquireAsync"/> does; completes once the subscription is in place.</summary>
    internal Task ListenForReleasesAsync() => _connection.EnsureSubscribedAsync(_connection.Keys.LockReleasedChannel, OnReleased);

    private void OnReleased(RedisValue message)
    {
        byte[]? bytes = message;
        if (bytes is null)
        {
            return;
        }

        string key = ReleaseNotice.Read(bytes, out ReadOnlyMemory<byte> carried);
        if (_waiters.TryRemove(key, out TaskCompletionSource<CacheEntry?>? released))
        {
            CacheEntry? written = null;
            if (!carried.IsEmpty && !CacheEntry.TryFromBytes(carried, out written))
            {
                // The waiter reads the value instead.
                Log.UnreadableReleaseNotice(Logger);
            }

            released.TrySetResult(written);
        }
    }

    private static TimeSpan Jitter(TimeSpan wait)
        => TimeSpan.FromTicks((long)(wait.Ticks * (0.75 + (Random.Shared.NextDouble() * 0.5))));

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static long Milliseconds(TimeSpan span) => Math.Max(1, (long)Math.Ceiling(span.TotalMilliseconds));

    internal static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
