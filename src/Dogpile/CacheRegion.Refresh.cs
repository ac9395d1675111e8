using System.Diagnostics;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// Refreshing a value that exists: the election of one regenerator, the hand-off to a runner, early refresh,
// and the back-off after failures that keeps the stale value in service without a retry storm.
public sealed partial class CacheRegion
{
    /// <summary>
    /// The non-blocking try-lock of a stale value; on success the returned request owns the lock(s). The winner
    /// re-reads: a reader that saw the old value just before another refresh finished must not refresh again.
    /// </summary>
    private async ValueTask<RefreshRequest?> TryElectAsync<TState, T>(Call<TState, T> call, RefreshReason reason, CancellationToken cancellationToken)
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
            CacheEntry? current = request.DistributedLock is { } held && _lockReadsBackend && held.TryGetEntryReadWithLock(out CacheEntry? readWithLock)
                ? readWithLock
                : await ReadAsync(call.Key, call.BackendKey, cancellationToken).ConfigureAwait(false);
            if (Classify<T>(call.Key, current, _clock.CoarseUtcTicks).State == EntryState.Fresh)
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

    private async ValueTask<RefreshRequest?> TryLockForRefreshAsync<TState, T>(Call<TState, T> call, RefreshReason reason, CancellationToken cancellationToken)
    {
        if (_gates.TryAcquire(call.BackendKey) is not { } gate)
        {
            return null;
        }

        ICacheLock? distributedLock = null;
        if (_lockProvider is not null)
        {
            try
            {
                distributedLock = await _lockProvider.TryAcquireAsync(call.BackendKey, cancellationToken).ConfigureAwait(false);
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
        TimeSpan backoff = _failures.Failed(backendKey, _clock.PreciseUtcTicks);
        Log.RefreshNotStarted(_logger, ex, Name, key, backoff);
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
            Log.LockReleaseFailed(_logger, ex, Name, key);
        }
    }

    private RefreshRequest NewRefreshRequest<TState, T>(Call<TState, T> call, RefreshReason reason, KeyedGates.GateLease gate, ICacheLock? distributedLock)
        => new(
            Name,
            call.Key,
            call.BackendKey,
            reason,
            _time.GetUtcNow(),
            gate,
            distributedLock,
            call.Function,
            call.Arguments,
            async (request, ct) => (await ExecuteRefreshAsync(call, request, ct).ConfigureAwait(false)).Outcome);

    /// <summary>
    /// Offers the request to the runner. A durable runner that refuses or fails hands it to the in-process
    /// runner; when that is full too, the refresh is skipped, counted, and its lock released.
    /// </summary>
    private async ValueTask ScheduleAsync(RefreshRequest request)
    {
        if (await TryScheduleOnAsync(_runner, request).ConfigureAwait(false))
        {
            _counters.RefreshStarted();
            return;
        }

        if (!ReferenceEquals(_runner, _localRunner))
        {
            _counters.RefreshFellBack();
            Log.RunnerFallback(_logger, null, Name, request.Key);
            if (await TryScheduleOnAsync(_localRunner, request).ConfigureAwait(false))
            {
                _counters.RefreshStarted();
                return;
            }
        }

        _counters.RefreshSkipped();
        Log.RefreshSkipped(_logger, Name, request.Key);
        await ReleaseQuietlyAsync(request, request.Key).ConfigureAwait(false);
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
            Log.RunnerFallback(_logger, ex, Name, request.Key);
            return false;
        }
    }

    /// <summary>Early refresh of a fresh value: never delays the caller, and at most one per key.</summary>
    private void StartEarlyRefresh<TState, T>(Call<TState, T> call)
    {
        if (IsBackingOff(call.BackendKey, _clock.CoarseUtcTicks))
        {
            return;
        }

        _ = StartEarlyRefreshAsync(call);
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
            Log.RunnerFallback(_logger, ex, Name, call.Key);
        }
    }

    /// <summary>Runs one refresh and releases its locks exactly once. Failures are logged and counted, never thrown.</summary>
    private async ValueTask<RefreshResult<T>> ExecuteRefreshAsync<TState, T>(Call<TState, T> call, RefreshRequest request, CancellationToken cancellationToken)
    {
        var release = new LockRelease();
        using Activity? activity = DogpileTracing.StartRefresh(Name, call.Key, _traceKeys, request.Reason, request.TraceContext);
        try
        {
            (T value, long created, _) = await CreateAndStoreAsync(call, request.DistributedLock, release, cancellationToken).ConfigureAwait(false);
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
            _counters.RefreshFailed();
            Log.RefreshFailed(_logger, ex, Name, call.Key, CurrentBackoff(call.BackendKey));
            return new RefreshResult<T>(RefreshOutcome.Failed, default!, 0);
        }
        finally
        {
            await request.ReleaseAfterRunAsync(release.DistributedReleased).ConfigureAwait(false);
        }
    }

    private bool IsBackingOff(string backendKey, long now) => _failures.IsBackingOff(backendKey, now);

    private TimeSpan CurrentBackoff(string backendKey) => _failures.Current(backendKey);

    private void RecordFailure(string backendKey) => _failures.Failed(backendKey, _clock.PreciseUtcTicks);

    /// <summary>How many keys hold a failure record now (bounded by <see cref="FailureBackoff.DefaultCapacity"/>).</summary>
    internal int FailureRecordCount => _failures.Count;

    private readonly record struct RefreshResult<T>(RefreshOutcome Outcome, T Value, long CreatedUtcTicks);
}
