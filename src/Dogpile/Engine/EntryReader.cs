using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Reads of the backend as the region makes them: a caller's first read (shared with concurrent callers of the key on a
/// remote backend), a re-read (never shared: it must see writes made after a lock was taken), many keys at once, each
/// through the near cache when there is one; a corrupt entry is a logged miss, and under Degrade a failed read is
/// answered by <see cref="HeldValues.OnBackendReadFailed"/>.
/// </summary>
internal sealed class EntryReader(RegionContext context, EntryClassifier classifier, HeldValues held, NearLayer? near)
{
    private readonly RegionContext _context = context;
    private readonly EntryClassifier _classifier = classifier;
    private readonly HeldValues _held = held;
    private readonly NearLayer? _near = near;
    private readonly ICacheBackend _backend = context.Backend;
    private readonly MemoryCacheBackend? _memory = context.Memory;
    private readonly SharedReads _sharedReads = context.SharedReads;
    private readonly bool _degrade = context.Degrade;

    /// <summary>
    /// Starts a caller's first read of a key; a backend that rejects a corrupt entry synchronously yields a logged miss.
    /// On a remote backend, callers that arrive while a read of the same key is in flight share it: a hundred callers
    /// of a cold key cost one round trip, not a hundred. (Re-reads under the lock never share: they must see writes
    /// made after the lock was taken.)
    /// </summary>
    public ValueTask<CacheEntry?> StartRead(string key, string backendKey, CancellationToken cancellationToken)
    {
        ValueTask<CacheEntry?> read = StartRead(key, backendKey, cancellationToken, out SharedReads.Lead? lead);
        return lead is null ? read : new ValueTask<CacheEntry?>(_sharedReads.LeadToEndAsync(lead, read));
    }

    /// <summary>
    /// <see cref="StartRead(string, string, CancellationToken)"/> for a caller that awaits the read itself: a
    /// non-null <paramref name="lead"/> means others may join this read, and the caller must end it with
    /// <see cref="SharedReads.Finish"/> or <see cref="SharedReads.Fail"/> once awaited. That saves the hit a task.
    /// </summary>
    public ValueTask<CacheEntry?> StartRead(string key, string backendKey, CancellationToken cancellationToken, out SharedReads.Lead? lead)
    {
        lead = null;
        if (_memory is not null)
        {
            return TryStartBackendRead(key, backendKey, cancellationToken);
        }

        int slot = SharedReads.SlotOf(backendKey);
        if (_sharedReads.TryJoin(slot, backendKey) is { } inFlight)
        {
            return new ValueTask<CacheEntry?>(inFlight.WaitAsync(cancellationToken));
        }

        // A shared read belongs to every caller that joins it, so no single caller's token may cancel it; the
        // backend's own timeouts bound it.
        ValueTask<CacheEntry?> read = TryStartBackendRead(key, backendKey, CancellationToken.None);
        if (read.IsCompleted)
        {
            return read;
        }

        lead = _sharedReads.TryLead(slot, backendKey);
        if (lead is not null && cancellationToken.CanBeCanceled)
        {
            // This caller may stop waiting before the read ends, so the read is led to its end without it.
            Task<CacheEntry?> led = _sharedReads.LeadToEndAsync(lead, read);
            lead = null;
            return new ValueTask<CacheEntry?>(led.WaitAsync(cancellationToken));
        }

        return read;
    }

    /// <summary>Reads from the backend; a corrupt entry counts as a miss and is logged, never thrown.</summary>
    public async ValueTask<CacheEntry?> ReadAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return _near is null
                ? await _backend.GetAsync(backendKey, cancellationToken).ConfigureAwait(false)
                : await _near.ReadThroughAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            _context.CountUnreadable(key, ex);
            return null;
        }
    }

    /// <summary>A read whose failure is handled by <see cref="HeldValues.OnBackendReadFailed"/>: never throws an unavailable backend under Degrade.</summary>
    public async ValueTask<(CacheEntry? Entry, bool Failed)> ReadOrDegradeAsync(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return (await ReadAsync(key, backendKey, cancellationToken).ConfigureAwait(false), false);
        }
        catch (CacheBackendUnavailableException ex) when (_degrade)
        {
            return (_held.OnBackendReadFailed(key, ex), true);
        }
    }

    /// <summary>Reads the key now (never a shared read) and classifies what is there.</summary>
    /// <remarks>Under Degrade, an unavailable backend reads as a miss (see <see cref="HeldValues.OnBackendReadFailed"/>).</remarks>
    public async ValueTask<Lookup<T>> ReadLookupAsync<T>(string key, string backendKey, CancellationToken cancellationToken)
    {
        (CacheEntry? entry, _) = await ReadOrDegradeAsync(key, backendKey, cancellationToken).ConfigureAwait(false);
        return _classifier.Classify<T>(key, entry, _context.Clock.CoarseUtcTicks);
    }

    /// <summary>Reads many keys in one batch where the backend allows it; <paramref name="throughNear"/> for a first read, never a re-read.</summary>
    public async ValueTask<CacheEntry?[]> ReadManyAsync(IReadOnlyList<string> keys, string[] backendKeys, CancellationToken cancellationToken, bool throughNear = false)
    {
        if (backendKeys.Length == 0)
        {
            return [];
        }

        if (throughNear && _near is not null)
        {
            return await _near.ReadManyThroughAsync(keys, backendKeys, _held, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await _backend.GetManyAsync(backendKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheSerializationException ex)
        {
            _context.CountUnreadable(string.Join(",", keys), ex);
            return new CacheEntry?[backendKeys.Length];
        }
        catch (Exception ex) when (_held.Degrades(ex))
        {
            // Every key what this process holds for it, or a miss; the failure counted (and logged) once for the batch.
            _ = _held.OnBackendReadFailed(string.Join(",", keys), ex);
            var outage = new CacheEntry?[backendKeys.Length];
            for (int i = 0; i < outage.Length; i++)
            {
                outage[i] = _held.DuringOutage(keys[i]);
            }

            return outage;
        }
    }

    private ValueTask<CacheEntry?> TryStartBackendRead(string key, string backendKey, CancellationToken cancellationToken)
    {
        try
        {
            return _near is null ? _backend.GetAsync(backendKey, cancellationToken) : _near.ReadThroughAsync(key, backendKey, cancellationToken);
        }
        catch (CacheSerializationException ex)
        {
            _context.CountUnreadable(key, ex);
            return default;
        }
    }
}
