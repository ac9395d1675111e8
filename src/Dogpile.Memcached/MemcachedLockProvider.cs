using System.Security.Cryptography;
using Dogpile.Memcached.Client;
using Microsoft.Extensions.Logging;

namespace Dogpile.Memcached;

/// <summary>
/// The cross-process creation lock on memcached: a key <c>&lt;key&gt;:lock</c> holding a random owner token, taken
/// with add semantics (<c>ms ... ME</c>) and a lease as its TTL.
/// </summary>
/// <remarks>
/// <para>Release and extend are compare-and-swap on the owner token: the lock is read with its CAS, the token
/// compared, and only then deleted (<c>md ... C&lt;cas&gt;</c>) or re-stored (<c>ms ... C&lt;cas&gt; T&lt;lease&gt;</c>).
/// A slow holder whose lease expired can therefore never delete or extend the lock another owner took since.</para>
/// <para>Waiters in <see cref="AcquireAsync"/> poll with decorrelated jitter between
/// <see cref="MemcachedLockOptions.MinRetryDelay"/> and <see cref="MemcachedLockOptions.MaxRetryDelay"/>, and never
/// wait past their timeout. All waiting goes through the injected <see cref="TimeProvider"/>.</para>
/// <para>No fencing: <see cref="ICacheLock.FencingToken"/> is 0. memcached offers no atomic "write the value only while
/// this lock is the newest" here, so a creator that outlives its lease may overwrite a newer value. Keep leases longer
/// than creators, or leave <see cref="MemcachedLockOptions.RenewWhileHeld"/> on.</para>
/// <para>The lock key is the backend key (with the backend's <see cref="MemcachedCacheBackendOptions.KeyPrefix"/> when
/// built from a backend) and <c>:lock</c>; a lock key that would break memcached's key rules uses the key's SHA-256
/// instead, so it stays within 250 bytes.</para>
/// </remarks>
internal sealed class MemcachedLockProvider : ICacheLockProvider, IDisposable
{
    private const string LockSuffix = ":lock";

    private readonly MemcachedClient _client;
    private readonly bool _ownsClient;
    private readonly string? _prefix;
    private readonly TimeProvider _time;

    /// <summary>Creates a provider that shares the client (and key prefix) of <paramref name="backend"/>.</summary>
    /// <param name="backend">The backend whose connections the locks use.</param>
    /// <param name="options">Lock settings; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock for waiting and renewal; <see cref="TimeProvider.System"/> by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public MemcachedLockProvider(MemcachedCacheBackend backend, MemcachedLockOptions? options = null, TimeProvider? timeProvider = null)
        : this(RequireBackend(backend).Client, backend.KeyPrefix, options, timeProvider, ownsClient: false)
    {
    }

    /// <summary>Creates a provider with a client of its own, which it disposes.</summary>
    /// <param name="clientOptions">The servers and pool settings; validated here.</param>
    /// <param name="options">Lock settings; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock for waiting and renewal; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the client logs; nowhere by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public MemcachedLockProvider(
        MemcachedClientOptions clientOptions,
        MemcachedLockOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
        : this(
            new MemcachedClient(clientOptions ?? throw new ArgumentNullException(nameof(clientOptions)), timeProvider, loggerFactory?.CreateLogger("Dogpile.Memcached")),
            prefix: null,
            options,
            timeProvider,
            ownsClient: true)
    {
    }

    internal MemcachedLockProvider(MemcachedClient client, string? prefix, MemcachedLockOptions? options, TimeProvider? timeProvider, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(client);
        options ??= new MemcachedLockOptions();
        options.Validate();
        _client = client;
        _ownsClient = ownsClient;
        _prefix = string.IsNullOrEmpty(prefix) ? null : prefix;
        _time = timeProvider ?? TimeProvider.System;
        Lease = options.Lease;
        RenewWhileHeld = options.RenewWhileHeld;
        MinRetryDelay = options.MinRetryDelay;
        MaxRetryDelay = options.MaxRetryDelay;
    }

    /// <summary>The lease each lock is taken (and renewed) with.</summary>
    public TimeSpan Lease { get; }

    internal bool RenewWhileHeld { get; }

    internal TimeSpan MinRetryDelay { get; }

    internal TimeSpan MaxRetryDelay { get; }

    internal MemcachedClient Client => _client;

    internal TimeProvider Time => _time;

    /// <inheritdoc />
    public async ValueTask<ICacheLock?> TryAcquireAsync(string key, CancellationToken cancellationToken)
    {
        string lockKey = LockKeyFor(key);
        byte[] token = NewToken();
        long started = _time.GetTimestamp();
        MemcachedStoreResult result;
        try
        {
            result = await _client.SetAsync(lockKey, token, flags: 0, Lease, MemcachedStoreMode.Add, compareCas: null, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("lock ADD", ex, _time.GetElapsedTime(started));
        }

        return result.Stored ? new MemcachedLock(this, key, lockKey, token) : null;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsHeldAsync(string key, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        try
        {
            return (await _client.GetAsync(LockKeyFor(key), cancellationToken).ConfigureAwait(false)).Found;
        }
        catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
        {
            throw MemcachedUnavailable.Wrap("lock GET", ex, _time.GetElapsedTime(started));
        }
    }

    /// <inheritdoc />
    public async ValueTask<ICacheLock?> AcquireAsync(
        string key,
        TimeSpan timeout,
        Func<CacheEntry?, CancellationToken, ValueTask<bool>>? valueProduced,
        CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A lock timeout must not be negative (or Timeout.InfiniteTimeSpan).");
        }

        long started = _time.GetTimestamp();
        TimeSpan delay = MinRetryDelay;
        while (true)
        {
            if (await TryAcquireAsync(key, cancellationToken).ConfigureAwait(false) is { } held)
            {
                return held;
            }

            TimeSpan pause = NextDelay(delay);
            delay = pause;
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                TimeSpan left = timeout - _time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    throw new CacheLockTimeoutException(key, timeout);
                }

                // The last pause ends at the deadline, for one final attempt there.
                pause = pause < left ? pause : left;
            }

            await Task.Delay(pause, _time, cancellationToken).ConfigureAwait(false);
            if (valueProduced is not null && await valueProduced(null, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    /// <summary>Disposes the client and closes its sockets, if this provider created it.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <summary>The memcached key of <paramref name="key"/>'s lock, within 250 bytes and memcached's character rules.</summary>
    internal string LockKeyFor(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        int budget = MemcachedKeys.MaxKeyLength - (_prefix?.Length ?? 0);
        string candidate = key + LockSuffix;
        string local = MemcachedKeys.IsSafe(candidate, budget) ? candidate : MemcachedKeys.Hash(key) + LockSuffix;
        return _prefix is null ? local : string.Concat(_prefix, local);
    }

    /// <summary>Decorrelated jitter (AWS architecture blog): uniform in [min, previous * 3], capped.</summary>
    private TimeSpan NextDelay(TimeSpan previous)
    {
        long min = MinRetryDelay.Ticks;
        long upper = Math.Max(min + 1, Math.Min(MaxRetryDelay.Ticks, previous.Ticks * 3));
#pragma warning disable CA5394 // Jitter, not security: the owner token comes from RandomNumberGenerator.
        long ticks = Random.Shared.NextInt64(min, upper + 1);
#pragma warning restore CA5394
        return TimeSpan.FromTicks(Math.Min(ticks, MaxRetryDelay.Ticks));
    }

    private static byte[] NewToken()
    {
        // 128 random bits as 32 hex characters: readable in memcached, unguessable, never repeated in practice.
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        return System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(random));
    }

    private static MemcachedCacheBackend RequireBackend(MemcachedCacheBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return backend;
    }
}
