using System.Collections.Concurrent;
using System.Diagnostics;

namespace Dogpile.Internal;

/// <summary>
/// The in-process per-key creation locks. A gate is a <see cref="SemaphoreSlim"/> (not a monitor) because
/// it is often released by another thread than the one that took it: the background runner releases a gate
/// the request thread acquired. Gates live only while someone holds or waits for them; a few retired ones are kept for
/// reuse, so a miss on a quiet key does not allocate a semaphore each time.
/// </summary>
internal sealed class KeyedGates
{
    // Enough for the keys created at the same moment on a busy server; beyond it, a gate is left to the GC.
    private const int PoolSize = 8;

    private readonly ConcurrentDictionary<string, Gate> _gates = new(StringComparer.Ordinal);
    private readonly Gate?[] _pool = new Gate?[PoolSize];

    public int Count => _gates.Count;

    /// <summary>Whether someone holds or waits for the key's gate (a creation or refresh is in progress).</summary>
    public bool IsBusy(string key) => _gates.ContainsKey(key);

    /// <summary>Takes the gate only if it is free right now (the stale-value election).</summary>
    public GateLease? TryAcquire(string key)
    {
        if (!_gates.ContainsKey(key))
        {
            // The common case, a key nobody holds: a free gate is taken before it is published, so a miss pays one
            // dictionary insert and no lookup of the gate it just added.
            Gate fresh = Rent();
            lock (fresh)
            {
                fresh.References = 1;
            }

            // A rented gate is free: nobody referenced it when it was retired.
            bool taken = fresh.Semaphore.Wait(0);
            Debug.Assert(taken, "A gate from the pool is free.");
            if (_gates.TryAdd(key, fresh))
            {
                return new GateLease(this, key, fresh);
            }

            // Someone published the key's gate first: this one was never seen, and goes back as it came.
            fresh.Semaphore.Release();
            lock (fresh)
            {
                fresh.References = 0;
            }

            Return(fresh);
        }

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
            Gate gate = _gates.GetOrAdd(key, static (_, self) => self.Rent(), this);
            lock (gate)
            {
                // A gate can be retired and reused for another key between GetOrAdd and this lock: only the gate the
                // key maps to now is the key's (removal takes this lock, so the answer holds while we hold it).
                if (!gate.Retired && _gates.TryGetValue(key, out Gate? current) && ReferenceEquals(current, gate))
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
            if (--gate.References != 0)
            {
                return;
            }

            gate.Retired = true;
            _gates.TryRemove(new KeyValuePair<string, Gate>(key, gate));
        }

        // No reference is left, so nobody holds or waits for its semaphore: it is free, with no queue, as when new.
        Return(gate);
    }

    private Gate Rent()
    {
        for (int i = 0; i < _pool.Length; i++)
        {
            if (Volatile.Read(ref _pool[i]) is not null && Interlocked.Exchange(ref _pool[i], null) is { } pooled)
            {
                lock (pooled)
                {
                    pooled.Retired = false;
                }

                return pooled;
            }
        }

        return new Gate();
    }

    private void Return(Gate gate)
    {
        for (int i = 0; i < _pool.Length; i++)
        {
            if (Volatile.Read(ref _pool[i]) is null && Interlocked.CompareExchange(ref _pool[i], gate, null) is null)
            {
                return;
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

        // Moves on at each release: a hold is the generation it started in.
        public int Generation;
        public bool Retired;
    }

    /// <summary>
    /// A held gate. <see cref="Release"/> is idempotent, on every copy: the gate is released exactly once, and a late
    /// release of an earlier hold never releases the next holder's (each hold has its own generation).
    /// </summary>
    internal readonly struct GateLease
    {
        private readonly KeyedGates _owner;
        private readonly string _key;
        private readonly Gate _gate;
        private readonly int _generation;

        public GateLease(KeyedGates owner, string key, Gate gate)
        {
            _owner = owner;
            _key = key;
            _gate = gate;

            // Called by the sole holder, right after it took the semaphore: nobody else moves the generation now.
            _generation = Volatile.Read(ref gate.Generation);
        }

        public bool IsReleased => Volatile.Read(ref _gate.Generation) != _generation;

        public void Release()
        {
            if (Interlocked.CompareExchange(ref _gate.Generation, _generation + 1, _generation) == _generation)
            {
                _owner.Release(_key, _gate);
            }
        }
    }
}
