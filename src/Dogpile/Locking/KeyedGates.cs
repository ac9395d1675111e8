using System.Collections.Concurrent;

namespace Dogpile.Internal;

/// <summary>
/// The in-process per-key creation locks. A gate is a <see cref="SemaphoreSlim"/> (not a monitor) because
/// it is often released by another thread than the one that took it: the background runner releases a gate
/// the request thread acquired. Gates live only while someone holds or waits for them.
/// </summary>
internal sealed class KeyedGates
{
    private readonly ConcurrentDictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    public int Count => _gates.Count;

    /// <summary>Whether someone holds or waits for the key's gate (a creation or refresh is in progress).</summary>
    public bool IsBusy(string key) => _gates.ContainsKey(key);

    /// <summary>Takes the gate only if it is free right now (the stale-value election).</summary>
    public GateLease? TryAcquire(string key)
    {
        Gate gate = Reference(key);
        if (gate.Semaphore.Wait(0))
        {
            return new GateLease(this, key, gate);
        }

        Unreference(key, gate);
        return null;
    }

    /// <summary>Waits for the gate.</summary>
    public async ValueTask<GateLease> AcquireAsync(string key, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Gate gate = Reference(key);
        try
        {
            if (gate.Semaphore.Wait(0, CancellationToken.None))
            {
                return new GateLease(this, key, gate);
            }

            if (timeout == Timeout.InfiniteTimeSpan)
            {
                await gate.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new GateLease(this, key, gate);
            }

            // The timeout must cancel the semaphore wait itself: a wait abandoned while still queued (Task.WaitAsync on
            // top of it) would later take the permit with nobody to release it, locking the key forever. The timer runs
            // on the TimeProvider so faked time governs the timeout too.
            using var expiry = new CancellationTokenSource(timeout, time);
            using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
            try
            {
                await gate.Semaphore.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (expiry.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The creation lock of '{key}' was not free within {timeout}.");
            }

            return new GateLease(this, key, gate);
        }
        catch
        {
            Unreference(key, gate);
            throw;
        }
    }

    private Gate Reference(string key)
    {
        while (true)
        {
            Gate gate = _gates.GetOrAdd(key, static _ => new Gate());
            lock (gate)
            {
                if (!gate.Retired)
                {
                    gate.References++;
                    return gate;
                }
            }
        }
    }

    private void Unreference(string key, Gate gate)
    {
        lock (gate)
        {
            if (--gate.References == 0)
            {
                gate.Retired = true;
                _gates.TryRemove(new KeyValuePair<string, Gate>(key, gate));
            }
        }
    }

    private void Release(string key, Gate gate)
    {
        gate.Semaphore.Release();
        Unreference(key, gate);
    }

#pragma warning disable CA1001 // A SemaphoreSlim without AvailableWaitHandle owns nothing to dispose.
    internal sealed class Gate
#pragma warning restore CA1001
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int References;
        public bool Retired;
    }

    /// <summary>A held gate. <see cref="Release"/> is idempotent: the gate is released exactly once.</summary>
    internal sealed class GateLease
    {
        private readonly KeyedGates _owner;
        private readonly string _key;
        private readonly Gate _gate;
        private int _released;

        public GateLease(KeyedGates owner, string key, Gate gate)
        {
            _owner = owner;
            _key = key;
            _gate = gate;
        }

        public bool IsReleased => Volatile.Read(ref _released) != 0;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _owner.Release(_key, _gate);
            }
        }
    }
}
