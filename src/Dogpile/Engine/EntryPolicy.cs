namespace Dogpile.Engine;

/// <summary>How a stored entry stands when it is read.</summary>
internal enum EntryState
{
    /// <summary>Absent, hard-invalidated, unreadable, or past the stale window.</summary>
    Missing,

    /// <summary>Within its expiration, and no early refresh is due.</summary>
    Fresh,

    /// <summary>Within its expiration, but an early refresh is due (refresh ratio or XFetch).</summary>
    FreshEarly,

    /// <summary>Expired or soft-invalidated, for at most <see cref="CacheRegionOptions.MaxStaleness"/>.</summary>
    Stale,

    /// <summary>Past <see cref="CacheRegionOptions.MaxStaleness"/> but within the stale window: a fallback only.</summary>
    TooStale,
}

/// <summary>What a read does with what it found.</summary>
internal enum ReadAction
{
    /// <summary>Return the fresh value; no lock is touched.</summary>
    Serve,

    /// <summary>Return the fresh value and start one early refresh in the background (never delays the caller).</summary>
    ServeAndRefreshEarly,

    /// <summary>Return the stale value; a refresh is already running, or the key is backing off after a failure.</summary>
    ServeStale,

    /// <summary>Try-lock to elect one regenerator, which hands the refresh to the runner; everyone gets the stale value now.</summary>
    ServeStaleAndRefresh,

    /// <summary>Try-lock to elect one regenerator, which regenerates in line (dogpile's synchronous mode); everyone else gets the stale value.</summary>
    ElectToRegenerate,

    /// <summary>No value to serve: wait on the key's lock; its holder re-reads and creates once for every waiter.</summary>
    Wait,
}

/// <summary>
/// Dogpile's rules, written once: (entry state × backing off × refresh busy × mode) → what the read does. Every read
/// path asks here: the hot stale check, single-key and multi-key get-or-create, and the re-read under the lock.
/// </summary>
/// <remarks>
/// "Backing off" means a creation for the key failed moments ago (stale-if-error: no retry storm). "Busy" means this
/// process already runs a creation or refresh of the key, so there is nothing to elect. Whether another process holds
/// the key's lock is only found by trying it: an election that finds it held serves the stale value like
/// <see cref="ReadAction.ServeStale"/>.
/// </remarks>
internal static class EntryPolicy
{
    public static ReadAction Decide(EntryState state, bool backingOff, bool refreshBusy, bool backgroundRefresh) => state switch
    {
        EntryState.Fresh => ReadAction.Serve,
        EntryState.FreshEarly => backingOff || refreshBusy ? ReadAction.Serve : ReadAction.ServeAndRefreshEarly,
        EntryState.Stale when backingOff || refreshBusy => ReadAction.ServeStale,
        EntryState.Stale => backgroundRefresh ? ReadAction.ServeStaleAndRefresh : ReadAction.ElectToRegenerate,

        // Too stale to serve normally; after a failure moments ago it is the fallback (stale-if-error).
        EntryState.TooStale when backingOff => ReadAction.ServeStale,
        _ => ReadAction.Wait,
    };
}
