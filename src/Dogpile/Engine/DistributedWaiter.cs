namespace Dogpile.Engine;

/// <summary>
/// Waits for the cross-process lock, but re-reads the key each time the waiter wakes: once another process has
/// written a fresh value, every waiting process reads it at once instead of taking the lock in turn to find it.
/// </summary>
internal sealed class DistributedWaiter<T>(RegionContext context, EntryClassifier classifier, EntryReader reader, string key, string backendKey, bool reread)
{
    public Lookup<T> Produced { get; private set; }

    public ValueTask<ICacheLock?> AcquireAsync(ICacheLockProvider provider, TimeSpan timeout, CancellationToken cancellationToken)
        => provider.AcquireAsync(backendKey, timeout, reread ? ValueProducedAsync : null, cancellationToken);

    private async ValueTask<bool> ValueProducedAsync(CacheEntry? written, CancellationToken cancellationToken)
    {
        // The entry the releasing process wrote, when its release notice carried it: as good as reading it back.
        Lookup<T> lookup = written is not null && context.LockReadsBackend
            ? classifier.Classify<T>(key, written, context.Clock.CoarseUtcTicks)
            : await reader.ReadLookupAsync<T>(key, backendKey, cancellationToken).ConfigureAwait(false);
        if (lookup.IsFresh)
        {
            Produced = lookup;
        }

        return lookup.IsFresh;
    }
}
