namespace Dogpile.Internal;

/// <summary>
/// Reads of a remote backend in flight, so that callers who ask for a key while it is being read share that round
/// trip. A fixed table of slots by key hash, not a dictionary: every remote read registers here, and a slot costs one
/// small object and one compare-and-swap, where a dictionary entry cost a node, two locks and a continuation. A slot
/// held by another key's read only means this read is not shared.
/// </summary>
/// <remarks>
/// The caller that starts a read leads it: it awaits the backend itself and then calls <see cref="Finish"/> or
/// <see cref="Fail"/>, so a read nobody joins costs no task of its own. Only a caller that joins makes the task that
/// joiners await.
/// </remarks>
internal sealed class SharedReads
{
    // Concurrent reads of distinct keys rarely meet in 1,024 slots; the table is 8 KiB per remote region.
    private const int SlotCount = 1024;

    private readonly Lead?[] _slots = new Lead?[SlotCount];

    /// <summary>The slot of a key, computed once per call and passed to <see cref="TryJoin"/> and <see cref="TryLead"/>.</summary>
    public static int SlotOf(string backendKey) => backendKey.GetHashCode() & (SlotCount - 1);

    /// <summary>The read of this key in flight, if any. A finished read is never joined: its answer predates the caller.</summary>
    public Task<CacheEntry?>? TryJoin(int slot, string backendKey)
    {
        Lead? occupant = Volatile.Read(ref _slots[slot]);
        return occupant is not null && string.Equals(occupant.BackendKey, backendKey, StringComparison.Ordinal) ? occupant.Join() : null;
    }

    /// <summary>
    /// Registers a read that is about to be awaited, so others can join it. Null when the slot holds another read in
    /// flight: this read is then not shared, and there is nothing to finish.
    /// </summary>
    public Lead? TryLead(int slot, string backendKey)
    {
        Lead? occupant = Volatile.Read(ref _slots[slot]);
        if (occupant is not null && !occupant.IsFinished)
        {
            return null;
        }

        var lead = new Lead(slot, backendKey);
        return Interlocked.CompareExchange(ref _slots[slot], lead, occupant) == occupant ? lead : null;
    }

    /// <summary>Ends a led read with its entry: the slot is freed and every caller that joined gets the entry.</summary>
    public void Finish(Lead? lead, CacheEntry? entry)
    {
        if (lead is not null)
        {
            Leave(lead)?.TrySetResult(entry);
        }
    }

    /// <summary>Ends a led read that threw: the slot is freed and every caller that joined sees the same exception.</summary>
    public void Fail(Lead? lead, Exception exception)
    {
        if (lead is not null)
        {
            Leave(lead)?.TrySetException(exception);
        }
    }

    /// <summary>Leads a read on behalf of a caller that cannot await it itself (it may stop waiting on its own token).</summary>
    public async Task<CacheEntry?> LeadToEndAsync(Lead lead, ValueTask<CacheEntry?> read)
    {
        CacheEntry? entry;
        try
        {
            entry = await read.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Fail(lead, ex);
            throw;
        }

        Finish(lead, entry);
        return entry;
    }

    /// <summary>Stops sharing a key's read in flight: after a write, a caller must not get what was there before it.</summary>
    public void Forget(string backendKey)
    {
        int slot = SlotOf(backendKey);
        Lead? occupant = Volatile.Read(ref _slots[slot]);
        if (occupant is not null && string.Equals(occupant.BackendKey, backendKey, StringComparison.Ordinal))
        {
            Interlocked.CompareExchange(ref _slots[slot], null, occupant);
        }
    }

    /// <summary>Closes a lead to new joiners, then frees its slot; returns the joiners' completion, if any joined.</summary>
    private TaskCompletionSource<CacheEntry?>? Leave(Lead lead)
    {
        TaskCompletionSource<CacheEntry?>? joined = lead.Close();
        Interlocked.CompareExchange(ref _slots[lead.Slot], null, lead);
        return joined;
    }

    /// <summary>A read in flight and, once someone joins it, the completion its joiners await.</summary>
    internal sealed class Lead(int slot, string backendKey)
    {
        // Null: nobody has joined yet. A completion: the joiners' task. Closed: finished, joinable no more.
        private static readonly object Closed = new();

        private object? _joiners;

        public int Slot { get; } = slot;

        public string BackendKey { get; } = backendKey;

        public bool IsFinished => ReferenceEquals(Volatile.Read(ref _joiners), Closed);

        /// <summary>The task joiners await, made by the first of them; null once the read has finished.</summary>
        public Task<CacheEntry?>? Join()
        {
            object? current = Volatile.Read(ref _joiners);
            if (current is null)
            {
                // Continuations run on the leader's thread as it finishes, as they would on any awaited task.
                var created = new TaskCompletionSource<CacheEntry?>();
                current = Interlocked.CompareExchange(ref _joiners, created, null) ?? created;
            }

            return (current as TaskCompletionSource<CacheEntry?>)?.Task;
        }

        public TaskCompletionSource<CacheEntry?>? Close() => Interlocked.Exchange(ref _joiners, Closed) as TaskCompletionSource<CacheEntry?>;
    }
}
