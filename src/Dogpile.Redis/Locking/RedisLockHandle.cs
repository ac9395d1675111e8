using Dogpile.Redis.Internal;

namespace Dogpile.Redis;

/// <summary>
/// A held Redis creation lock: the key, the random owner token and the fence taken with it. The three values are all a
/// handle is, so a handle can travel in a refresh job and be rebuilt in another process with
/// <see cref="RedisLockProvider.Restore"/>, which can then extend or release it.
/// </summary>
internal sealed class RedisLockHandle : ICacheLock
{
    private readonly RedisLockProvider _provider;
    private readonly Lock _timerLock = new();
    private ITimer? _renewal;
    private int _released;

    internal RedisLockHandle(RedisLockProvider provider, string key, string ownerToken, long fencingToken)
    {
        _provider = provider;
        Key = key;
        OwnerToken = ownerToken;
        FencingToken = fencingToken;
    }

    /// <inheritdoc />
    public string Key { get; }

    /// <inheritdoc />
    public string OwnerToken { get; }

    /// <inheritdoc />
    public long FencingToken { get; }

    /// <summary>Whether this handle was released (or its lock written and released by a fenced write).</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <inheritdoc />
    public ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken)
        => IsReleased ? new ValueTask<bool>(false) : _provider.ExtendAsync(this, lease, cancellationToken);

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        StopRenewal();
        await _provider.ReleaseAsync(this, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ReleaseAsync(CancellationToken.None);

    /// <summary>Whether the acquisition read the value (then <see cref="EntryReadWithLock"/> is what was stored).</summary>
    internal bool ReadWithLock { get; init; }

    /// <summary>The entry stored when the lock was taken, read by the same script.</summary>
    internal CacheEntry? EntryReadWithLock { get; init; }

    /// <inheritdoc />
    public bool TryGetEntryReadWithLock(out CacheEntry? entry)
    {
        entry = EntryReadWithLock;
        return ReadWithLock;
    }

    /// <summary>The lock was released by a script that also wrote the value: stop renewing, make release a no-op.</summary>
    internal void MarkReleased()
    {
        Interlocked.Exchange(ref _released, 1);
        StopRenewal();
    }

    /// <summary>Extends the lease every third of it while the handle is held.</summary>
    internal void StartRenewal(TimeSpan lease, TimeProvider time)
    {
        TimeSpan period = lease / 3;
        lock (_timerLock)
        {
            if (IsReleased || _renewal is not null)
            {
                return;
            }

            _renewal = time.CreateTimer(static state => ((RedisLockHandle)state!).Renew(), this, period, period);
        }
    }

    internal void StopRenewal()
    {
        ITimer? timer;
        lock (_timerLock)
        {
            timer = _renewal;
            _renewal = null;
        }

        timer?.Dispose();
    }

    private void Renew() => _ = RenewAsync();

    private async Task RenewAsync()
    {
        if (IsReleased)
        {
            return;
        }

        try
        {
            if (!await _provider.ExtendAsync(this, _provider.Lease, CancellationToken.None).ConfigureAwait(false))
            {
                Log.LockLost(_provider.Logger, Key);
                StopRenewal();
            }
        }
#pragma warning disable CA1031 // Renewal is best effort: the next tick tries again, and the fence guards the write.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LockRenewalFailed(_provider.Logger, ex, Key);
        }
    }
}
