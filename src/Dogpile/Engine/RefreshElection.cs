using System.Diagnostics;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Refreshing a value that exists: the election of one regenerator (a non-blocking try-lock, in process then across
/// processes), the hand-off to a runner with its fallback, early refresh, and the run of one refresh that releases its
/// locks exactly once. Owns the refresh runners: the configured one and the in-process one it falls back to.
/// </summary>
internal sealed class RefreshElection : IAsyncDisposable
{
    private readonly RegionContext _context;
    private readonly EntryReader _reader;
    private readonly EntryClassifier _classifier;
    private readonly EntryStore _store;
    private readonly IRefreshRunner _runner;
    private readonly BoundedRefreshRunner _localRunner;

    public RefreshElection(CacheRegionOptions options, RegionContext context, EntryReader reader, EntryClassifier classifier, EntryStore store)
    {
        _context = context;
        _reader = reader;
        _classifier = classifier;
        _store = store;
        _localRunner = new BoundedRefreshRunner(options.MaxConcurrentRefreshes, options.RefreshBacklog, context.Logger);
        _runner = options.RefreshRunner ?? _localRunner;
    }

    /// <summary>Refreshes running in the in-process runner now.</summary>
    public int Running => _localRunner.Running;

    /// <summary>Refreshes queued in the in-process runner now.</summary>
    public int Queued => _localRunner.Queued;

    /// <summary>Stops the in-process runner: queued refreshes are dropped and their locks released.</summary>
    public ValueTask DisposeAsync() => _localRunner.DisposeAsync();

    /// <summary>
    /// The non-blocking try-lock of a stale value; on success the returned request owns the lock(s). The winner
    /// re-reads: a reader that saw the old value just before another refresh finished must not refresh again.
    /// </summary>
    public async ValueTask<RefreshRequest?> TryElectAsync<TState, T>(Call<TState, T> call, RefreshReason reason, CancellationToken cancellationToken)
    {
        RefreshRequest? request = await TryLockForRefreshAsync(call, reason, cancellationToken).ConfigureAwait(false);
        if (request is null)
        {
            return null;
        }

        try
        {
            // A provider whose try-lock read the entry in the same step (Redis's lock script) saves the re-read's round
            // trip: the elected caller reads the key once before the election and once with it, as dogpile does.
            CacheEntry? current = request.DistributedLock is { } held && _context.LockReadsBackend && held.TryGetEntryReadWithLock(out CacheEntry? readWithLock)
                ? readWithLock
                : await _reader.ReadAsync(call.Key, call.BackendKey, cancellationToken).ConfigureAwait(false);
            if (_classifier.Classify<T>(call.Key, current, _context.Clock.CoarseUtcTicks).State == EntryState.Fresh)
            {
                await ReleaseQuietlyAsync(request, call.Key).ConfigureAwait(false);
                return null;
            }
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            await ReleaseQuietlyAsync(request, call.Key).ConfigureAwait(false);
            NotStarted(call.Key, call.BackendKey, ex);
            return null;
        }
        catch
        {
            await ReleaseQuietlyAsync(request, call.Key).ConfigureAwait(false);
            throw;
        }

        return request;
    }

    /// <summary>A request for the call's refresh that owns the given locks; running it runs <see cref="ExecuteRefreshAsync"/>.</summary>
    public RefreshRequest NewRefreshRequest<TState, T>(Call<TState, T> call, RefreshReason reason, KeyedGates.GateLease gate, ICacheLock? distributedLock)
        => new(
            _context.Name,
            call.Key,
            call.BackendKey,
            reason,
            _context.Time.GetUtcNow(),
            gate,
            distributedLock,
            call.Function,
            call.Arguments,
            async (request, ct) => (await ExecuteRefreshAsync(call, request, ct).ConfigureAwait(false)).Outcome);

    /// <summary>
    /// Offers the request to the runner. A durable runner that refuses or fails hands it to the in-process
    /// runner; when that is full too, the refresh is skipped, counted, and its lock released.
    /// </summary>
    public async ValueTask ScheduleAsync(RefreshRequest request)
    {
        if (await TryScheduleOnAsync(_runner, request).ConfigureAwait(false))
        {
            _context.Counters.RefreshStarted();
            return;
        }

        if (!ReferenceEquals(_runner, _localRunner))
        {
            _context.Counters.RefreshFellBack();
            Log.RunnerFallback(_context.Logger, null, _context.Name, request.Key);
            if (await TryScheduleOnAsync(_localRunner, request).ConfigureAwait(false))
            {
                _context.Counters.RefreshStarted();
                return;
            }
        }

        _context.Counters.RefreshSkipped();
        Log.RefreshSkipped(_context.Logger, _context.Name, request.Key);
        await ReleaseQuietlyAsync(request, request.Key).ConfigureAwait(false);
    }

    /// <summary>Early refresh of a fresh value: never delays the caller, and at most one per key.</summary>
    public void StartEarlyRefresh<TState, T>(Call<TState, T> call)
    {
        if (_context.IsBackingOff(call.BackendKey, _context.Clock.CoarseUtcTicks))
        {
            return;
        }

        _ = StartEarlyRefreshAsync(call);
    }

    /// <summary>Runs one refresh and releases its locks exactly once. Failures are logged and counted, never thrown.</summary>
    public async ValueTask<RefreshResult<T>> ExecuteRefreshAsync<TState, T>(Call<TState, T> call, RefreshRequest request, CancellationToken cancellationToken)
    {
        var release = new LockRelease();
        using Activity? activity = DogpileTracing.StartRefresh(_context.Name, call.Key, _context.TraceKeys, request.Reason, request.TraceContext);
        try
        {
            (T value, long created, _) = await _store.CreateAndStoreAsync(call, request.DistributedLock, release, cancellationToken).ConfigureAwait(false);
            activity?.SetOutcome(DogpileTracing.OutcomeName(release.Outcome));
            return new RefreshResult<T>(release.Outcome, value, created);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            activity?.SetOutcome("cancelled");
            return new RefreshResult<T>(RefreshOutcome.Cancelled, default!, 0);
        }
#pragma warning disable CA1031 // Stale-if-error: the failure is recorded and logged; the stale value stays in service.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            activity?.SetFailed(ex);
            _context.Counters.RefreshFailed();
            Log.RefreshFailed(_context.Logger, ex, _context.Name, call.Key, _context.Failures.Current(call.BackendKey));
            return new RefreshResult<T>(RefreshOutcome.Failed, default!, 0);
        }
        finally
        {
            await request.ReleaseAfterRunAsync(release.DistributedReleased).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A refresh job of a cached function (from a durable queue): under the key's gate, skipped when the key is already
    /// fresh (at-least-once delivery), else created and stored, fenced by <paramref name="heldLock"/> when the backend
    /// can; the lock is released exactly once, whatever happens. A failure is thrown, for the worker to retry.
    /// </summary>
    public async ValueTask<RefreshOutcome> RunJobAsync<TArg, T>(Call<TArg, T> call, ICacheLock? heldLock, CancellationToken cancellationToken)
    {
        var release = new LockRelease();
        KeyedGates.GateLease? gate = null;

        // A job's refresh: its span continues the worker's (Activity.Current), which continues the enqueuer's trace.
        using Activity? activity = DogpileTracing.StartRefresh(_context.Name, call.Key, _context.TraceKeys, reason: null, default);
        try
        {
            gate = await _context.AcquireGateAsync(call.Key, call.BackendKey, cancellationToken).ConfigureAwait(false);
            CacheEntry? entry = await _reader.ReadAsync(call.Key, call.BackendKey, cancellationToken).ConfigureAwait(false);
            if (_classifier.Classify<T>(call.Key, entry, _context.Clock.CoarseUtcTicks).State == EntryState.Fresh)
            {
                // At-least-once delivery: a duplicate or late job finds the key already fresh.
                activity?.SetOutcome(DogpileTracing.OutcomeName(RefreshOutcome.SkippedFresh));
                return RefreshOutcome.SkippedFresh;
            }

            await _store.CreateAndStoreAsync(call, heldLock, release, cancellationToken).ConfigureAwait(false);
            activity?.SetOutcome(DogpileTracing.OutcomeName(release.Outcome));
            return release.Outcome;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            activity?.SetFailed(ex);
            _context.Counters.RefreshFailed();
            throw;
        }
        finally
        {
            gate?.Release();
            if (heldLock is not null && !release.DistributedReleased)
            {
                await _context.ReleaseQuietlyAsync(heldLock, call.Key).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<RefreshRequest?> TryLockForRefreshAsync<TState, T>(Call<TState, T> call, RefreshReason reason, CancellationToken cancellationToken)
    {
        if (_context.Gates.TryAcquire(call.BackendKey) is not { } gate)
        {
            return null;
        }

        ICacheLock? distributedLock = null;
        if (_context.LockProvider is { } lockProvider)
        {
            try
            {
                distributedLock = await lockProvider.TryAcquireAsync(call.BackendKey, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                gate.Release();
                NotStarted(call.Key, call.BackendKey, ex);
                return null;
            }
            catch
            {
                gate.Release();
                throw;
            }

            if (distributedLock is null)
            {
                gate.Release();
                return null;
            }
        }

        return NewRefreshRequest(call, reason, gate, distributedLock);
    }

    /// <summary>
    /// A refresh that cannot lock (or re-read) is a refresh that is not started: the stale value stays in service, and
    /// the key backs off, so the callers behind this one serve it at once instead of each trying a failing store again.
    /// </summary>
    private void NotStarted(string key, string backendKey, Exception ex)
    {
        TimeSpan backoff = _context.Failures.Failed(backendKey, _context.Clock.PreciseUtcTicks);
        Log.RefreshNotStarted(_context.Logger, ex, _context.Name, key, backoff);
    }

    private async ValueTask ReleaseQuietlyAsync(RefreshRequest request, string key)
    {
        try
        {
            await request.ReleaseAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed release must not turn a stale hit into an error; the lease ends the lock anyway.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LockReleaseFailed(_context.Logger, ex, _context.Name, key);
        }
    }

    private async ValueTask<bool> TryScheduleOnAsync(IRefreshRunner runner, RefreshRequest request)
    {
        try
        {
            return await runner.TryScheduleAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A runner that throws (its store is down) must not lose the refresh: fall back.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RunnerFallback(_context.Logger, ex, _context.Name, request.Key);
            return false;
        }
    }

    private async Task StartEarlyRefreshAsync<TState, T>(Call<TState, T> call)
    {
        try
        {
            RefreshRequest? request = await TryElectAsync(call, RefreshReason.EarlyRefresh, CancellationToken.None).ConfigureAwait(false);
            if (request is not null)
            {
                await ScheduleAsync(request).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Early refresh is best effort: the value is still fresh.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RunnerFallback(_context.Logger, ex, _context.Name, call.Key);
        }
    }
}
