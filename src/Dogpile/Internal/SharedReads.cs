namespace Dogpile.Internal;

/// <summary>
/// Reads of a remote backend in flight, so that callers who ask for a key while it is being read share that round
/// trip. A fixed table of slots by key hash, not a dictionary: every remote read registers here, and a slot costs one
/// small object and one compare-and-swap, where a dictionary entry cost a node, two locks and a continuation. A slot
/// held by another key's read only means this read is not shared.
/// </summary>
internal sealed class SharedReads
{
    // Concurrent reads of distinct keys rarely meet in 1,024 slots; the table is 8 KiB per remote region.
    private const int SlotCount = 1024;

    private readonly Registration?[] _slots = new Registration?[SlotCount];

    /// <summary>The slot of a key, computed once per call and passed to <see cref="TryJoin"/> and <see cref="Share"/>.</summary>
    public static int SlotOf(string backendKey) => backendKey.GetHashCode() & (SlotCount - 1);

    /// <summary>The read of this key in flight, if any. A finished read is never joined: its answer predates the caller.</summary>
    public Task<CacheEntry?>? TryJoin(int slot, string backendKey)
    {
        Registration? occupant = Volatile.Read(ref _slots[slot]);
        Task<CacheEntry?>? read = occupant?.Read;
        return read is { IsCompleted: false } && string.Equals(occupant!.BackendKey, backendKey, StringComparison.Ordinal) ? read : null;
    }

    /// <summary>
    /// Offers a pending read for sharing and returns the task its callers await; the read leaves its slot as it ends,
    /// whoever (if anyone) is still waiting for it.
    /// </summary>
    public Task<CacheEntry?> Share(int slot, string backendKey, ValueTask<CacheEntry?> read)
    {
        Registration? occupant = Volatile.Read(ref _slots[slot]);
        if (occupant is not null && occupant.Read is not { IsCompleted: true })
        {
            return read.AsTask();
        }

        // Registered before the read is wrapped, so the wrapper's removal always follows the registration even when
        // the read has already finished.
        var registration = new Registration(backendKey);
        if (Interlocked.CompareExchange(ref _slots[slot], registration, occupant) != occupant)
        {
            return read.AsTask();
        }

        Task<CacheEntry?> shared = ReadThenLeaveAsync(slot, registration, read);
        registration.Read = shared;
        return shared;
    }

    /// <summary>Stops sharing a key's read in flight: after a write, a caller must not get what was there before it.</summary>
    public void Forget(string backendKey)
    {
        int slot = SlotOf(backendKey);
        Registration? occupant = Volatile.Read(ref _slots[slot]);
        if (occupant is not null && string.Equals(occupant.BackendKey, backendKey, StringComparison.Ordinal))
        {
            Interlocked.CompareExchange(ref _slots[slot], null, occupant);
        }
    }

    private async Task<CacheEntry?> ReadThenLeaveAsync(int slot, Registration registration, ValueTask<CacheEntry?> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.CompareExchange(ref _slots[slot], null, registration);
        }
    }

    private sealed class Registration(string backendKey)
    {
        private Task<CacheEntry?>? _read;

        public string BackendKey { get; } = backendKey;

        /// <summary>Null for the moment between taking the slot and starting to share: not joinable yet.</summary>
        public Task<CacheEntry?>? Read
        {
            get => Volatile.Read(ref _read);
            set => Volatile.Write(ref _read, value);
        }
    }
}
