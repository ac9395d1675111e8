using Dogpile.Memcached.Client;

namespace Dogpile.Memcached;

/// <summary>
/// A held memcached lock. While <see cref="MemcachedLockOptions.RenewWhileHeld"/> is on, a timer extends it (every
/// lease/3, or sooner for a short lease) until it is released (or found lost): an owner that never releases keeps it, so
/// every path must release.
/// Extend and release compare the stored owner token under the item's CAS, and are serialized
/// with the renewal timer, so a renewal can never change the CAS between a release's read and its delete.
/// </summary>
internal sealed class MemcachedLock : ICacheLock
{
    private readonly MemcachedLockProvider _provider;
    private readonly string _lockKey;
    private readonly byte[] _token;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ITimer? _renewal;
    private int _released;

    public MemcachedLock(MemcachedLockProvider provider, string key, string lockKey, byte[] token)
    {
        _provider = provider;
        Key = key;
        _lockKey = lockKey;
        _token = token;
        OwnerToken = System.Text.Encoding.ASCII.GetString(token);
        if (provider.RenewWhileHeld)
        {
            // Sooner than a third of the lease when it is short: memcached may end it up to a second early.
            TimeSpan period = TimeSpan.FromTicks(Math.Min(provider.Lease.Ticks / 3, (provider.Lease - TimeSpan.FromSeconds(1)).Ticks / 2));
            _renewal = provider.Time.CreateTimer(static state => ((MemcachedLock)state!).Renew(), this, period, period);
        }
    }

    public string Key { get; }

    public string OwnerToken { get; }

    /// <summary>Always 0: memcached has no fenced write here (see <see cref="MemcachedLockProvider"/>).</summary>
    public long FencingToken => 0;

    public async ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken)
    {
        if (lease < MemcachedLockOptions.MinimumLease)
        {
            throw new ArgumentOutOfRangeException(nameof(lease), lease, $"A memcached lease must be at least {MemcachedLockOptions.MinimumLease.TotalSeconds:F0} seconds: memcached may end it up to a second early.");
        }

        if (Volatile.Read(ref _released) != 0)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Volatile.Read(ref _released) == 0 && await ExtendCoreAsync(lease, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        if (_renewal is not null)
        {
            await _renewal.DisposeAsync().ConfigureAwait(false);
        }

        // Wait out a renewal in flight: it would change the CAS this release compares.
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            MemcachedClient client = _provider.Client;
            MemcachedGetResult current = await client.GetAsync(_lockKey, cancellationToken).ConfigureAwait(false);
            if (current.Found && current.Value.Span.SequenceEqual(_token))
            {
                // EX or NF here means the lease ran out and the lock changed hands in between: not ours to delete.
                _ = await client.DeleteAsync(_lockKey, current.Cas, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask DisposeAsync() => ReleaseAsync(CancellationToken.None);

    private async ValueTask<bool> ExtendCoreAsync(TimeSpan lease, CancellationToken cancellationToken)
    {
        MemcachedClient client = _provider.Client;
        MemcachedGetResult current = await client.GetAsync(_lockKey, cancellationToken).ConfigureAwait(false);
        if (!current.Found || !current.Value.Span.SequenceEqual(_token))
        {
            return false;
        }

        MemcachedStoreResult stored = await client.SetAsync(_lockKey, _token, flags: 0, lease, MemcachedStoreMode.Set, current.Cas, cancellationToken)
            .ConfigureAwait(false);
        return stored.Stored;
    }

    private async void Renew()
    {
        // Timer ticks may overlap a slow renewal, an extend or a release: skip rather than queue.
        if (Volatile.Read(ref _released) != 0 || !_gate.Wait(0))
        {
            return;
        }

        try
        {
            if (Volatile.Read(ref _released) == 0 && !await ExtendCoreAsync(_provider.Lease, CancellationToken.None).ConfigureAwait(false))
            {
                // Lost (expired and taken, or deleted): renewing further would be pointless.
                _renewal?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
#pragma warning disable CA1031 // A failed renewal is retried on the next tick; the lease covers the gap.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            _gate.Release();
        }
    }
}
