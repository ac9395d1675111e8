using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Dogpile.Internal;
using Microsoft.Extensions.Logging;

namespace Dogpile.Memcached.Client;

/// <summary>
/// The connections to one server: at most <see cref="MemcachedClientOptions.MaxConnectionsPerServer"/> sockets,
/// each lent to one caller at a time, plus the server's circuit breaker.
/// </summary>
/// <remarks>
/// A failed connect (refused or timed out) or a request that timed out opens the breaker: calls for the server's keys then fail
/// at once with <see cref="MemcachedServerUnavailableException"/> for
/// <see cref="MemcachedClientOptions.DeadServerFirstRetryDelay"/>, doubling per failed probe up to
/// <see cref="MemcachedClientOptions.DeadServerRetryDelay"/>; one call at a time probes, and the first success closes it.
/// </remarks>
/// <remarks>
/// A caller first takes a slot from <see cref="_slots"/> (waiting up to the pool wait timeout), then an idle
/// connection or, only when none is idle, a new one. Because a new socket is opened only by a slot holder that
/// found no idle socket, open sockets never exceed the slot count, however many callers queue.
/// </remarks>
internal sealed class MemcachedServerPool : IDisposable
{
    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly MemcachedMetrics? _metrics;
    private readonly SemaphoreSlim _slots;
    private readonly Lock _lock = new();
    private readonly Stack<MemcachedConnection> _idle = new();
    private readonly CircuitBreaker _breaker;
    private int _open;
    private bool _disposed;

    public MemcachedServerPool(ServerAddress address, MemcachedClientOptions options, TimeProvider timeProvider, ILogger logger, MemcachedMetrics? metrics = null)
    {
        Address = address;
        _metrics = metrics;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxConnectionsPerServer, options.MaxConnectionsPerServer);
        _breaker = new CircuitBreaker(options.DeadServerFirstRetryDelay, options.DeadServerRetryDelay, timeProvider);
        _breaker.Opened += cause =>
        {
            Log.ServerMarkedDead(_logger, Address.RingName, _breaker.MinInterval, cause);
            _metrics?.ServerMarkedDead(Address);
        };
        _breaker.Closed += _ => Log.ServerRevived(_logger, Address.RingName);
    }

    /// <summary>The server's circuit breaker (read by the health check).</summary>
    internal CircuitBreaker Breaker => _breaker;

    public ServerAddress Address { get; }

    /// <summary>Sockets currently open to this server, idle or lent out.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Whether calls for this server currently fail fast (the breaker is open and no probe is due).</summary>
    public bool IsDead => !_breaker.IsClosed && _breaker.State == BreakerState.Open;

    /// <summary>
    /// Runs <paramref name="operation"/> on a connection lent exclusively for its duration, under the request
    /// timeout. The connection goes back to the pool only if the operation completed without an exception.
    /// </summary>
    /// <param name="state">Passed to <paramref name="operation"/> so callers can use a static lambda.</param>
    /// <param name="operation">Writes the request, flushes, and reads every reply it caused.</param>
    /// <param name="idempotent">
    /// True for reads. A pooled socket can be dead without our knowing (the server restarted, or something on
    /// the path dropped an idle connection); a read that fails that way on a pooled socket is retried once on a
    /// fresh one. Writes are never retried: the first attempt may have been applied even though its reply was lost.
    /// </param>
    /// <param name="cancellationToken">Cancels the call; the connection in use is then discarded.</param>
    /// <param name="name">The operation's name in traces and <c>dogpile.memcached.operation.duration</c>.</param>
    public ValueTask<TResult> ExecuteAsync<TState, TResult>(
        string name,
        TState state,
        Func<MemcachedConnection, TState, CancellationToken, ValueTask<TResult>> operation,
        bool idempotent,
        CancellationToken cancellationToken)
        => MemcachedTelemetry.Source.HasListeners() || _metrics?.OperationDuration.Enabled == true
            ? ExecuteObservedAsync(name, state, operation, idempotent, cancellationToken)
            : ExecuteCoreAsync(state, operation, idempotent, cancellationToken);

    /// <summary>The call measured and, inside a sampled trace, traced: a second state machine only when someone listens.</summary>
    private async ValueTask<TResult> ExecuteObservedAsync<TState, TResult>(
        string name,
        TState state,
        Func<MemcachedConnection, TState, CancellationToken, ValueTask<TResult>> operation,
        bool idempotent,
        CancellationToken cancellationToken)
    {
        Activity? activity = MemcachedTelemetry.StartOperation(name, Address);
        long started = _timeProvider.GetTimestamp();
        string? errorType = null;
        try
        {
            return await ExecuteCoreAsync(state, operation, idempotent, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            errorType = ex.GetType().FullName;
            throw;
        }
        finally
        {
            MemcachedTelemetry.EndOperation(activity, _metrics, name, Address, _timeProvider.GetElapsedTime(started), errorType);
        }
    }

    private async ValueTask<TResult> ExecuteCoreAsync<TState, TResult>(
        TState state,
        Func<MemcachedConnection, TState, CancellationToken, ValueTask<TResult>> operation,
        bool idempotent,
        CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var admission = _breaker.TryEnter();
        if (admission == BreakerAdmission.Rejected)
        {
            ThrowDead();
        }

        var settled = false;
        try
        {
            await AcquireSlotAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _breaker.OnAbandoned(admission);
            throw;
        }

        try
        {
            for (var attempt = 0; ; attempt++)
            {
                // Re-check: while this caller queued, another may have found the server dead.
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (admission == BreakerAdmission.Allowed && !_breaker.IsClosed)
                {
                    ThrowDead();
                }

                var pooled = TakeIdle();
                MemcachedConnection connection;
                try
                {
                    connection = pooled ?? await OpenAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (MemcachedException ex) when (ex is MemcachedTimeoutException or MemcachedConnectionException)
                {
                    settled = true;
                    _breaker.OnFailure(admission, ex);
                    throw;
                }

                using var timeout = new CancellationTokenSource(_options.RequestTimeout, _timeProvider);
                using var link = cancellationToken.CanBeCanceled
                    ? cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout)
                    : default;
                try
                {
                    var result = await operation(connection, state, timeout.Token).ConfigureAwait(false);
                    ReturnIdle(connection);
                    settled = true;
                    _breaker.OnSuccess(admission);
                    return result;
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
                {
                    Discard(connection, ex, drainIdle: false);
                    var timedOut = new MemcachedTimeoutException(
                        $"A request to memcached server {Address} got no answer within the request timeout " +
                        $"{Milliseconds(_options.RequestTimeout)}: timed out (a hung or overloaded server). The connection was discarded.", ex);
                    settled = true;
                    _breaker.OnFailure(admission, timedOut);
                    throw timedOut;
                }
                catch (MemcachedConnectionException ex) when (idempotent && pooled is not null && attempt == 0)
                {
                    Discard(connection, ex, drainIdle: true);
                }
                catch (Exception ex)
                {
                    // A reset or close usually means the server went away: its idle sockets are stale too. It does not
                    // open the breaker by itself (a server may drop one connection and be fine): the reconnect decides.
                    Discard(connection, ex, drainIdle: ex is MemcachedConnectionException);
                    throw;
                }
            }
        }
        finally
        {
            if (!settled)
            {
                _breaker.OnAbandoned(admission);
            }

            _slots.Release();
        }
    }

    private static string Milliseconds(TimeSpan span) => span.TotalMilliseconds.ToString("#,0", CultureInfo.InvariantCulture) + " ms";

    private void ThrowDead()
    {
        var cause = _breaker.LastFailure;
        throw new MemcachedServerUnavailableException(
            $"memcached server {Address} was skipped: its circuit breaker is open (it failed {Milliseconds(_breaker.OpenFor)} ago: " +
            $"{cause?.Message ?? "unavailable"}); the call failed at once without waiting, the next probe goes in " +
            $"{Milliseconds(_breaker.RetryIn)}. Its keys are not remapped to other servers.",
            cause);
    }

    private async ValueTask AcquireSlotAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_options.PoolWaitTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MemcachedTimeoutException(
                $"No connection to memcached server {Address} became free within {_options.PoolWaitTimeout} " +
                $"(all {_options.MaxConnectionsPerServer} are busy).", ex);
        }
    }

    private MemcachedConnection? TakeIdle()
    {
        lock (_lock)
        {
            return _idle.TryPop(out var connection) ? connection : null;
        }
    }

    private async ValueTask<MemcachedConnection> OpenAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Only a slot holder that found no idle socket gets here, so this stays within the cap.
            _open++;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            return await MemcachedConnection.OpenAsync(Address, _options.MaxItemSize, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            lock (_lock)
            {
                _open--;
            }

            switch (ex)
            {
                case OperationCanceledException when !cancellationToken.IsCancellationRequested:
                    throw new MemcachedTimeoutException(
                        $"Connecting to memcached server {Address} timed out: no answer within the connect timeout {Milliseconds(_options.ConnectTimeout)}.", ex);
                case SocketException socketException:
                    throw new MemcachedConnectionException(
                        $"Connecting to memcached server {Address} failed ({(socketException.SocketErrorCode == SocketError.ConnectionRefused ? "refused" : socketException.SocketErrorCode.ToString())}): {socketException.Message}", ex);
                default:
                    throw;
            }
        }
    }

    private void ReturnIdle(MemcachedConnection connection)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _idle.Push(connection);
                return;
            }

            _open--;
        }

        connection.Dispose();
    }

    private void Discard(MemcachedConnection connection, Exception cause, bool drainIdle)
    {
        List<MemcachedConnection>? stale = null;
        lock (_lock)
        {
            _open--;
            if (drainIdle && _idle.Count > 0)
            {
                stale = [.. _idle];
                _open -= _idle.Count;
                _idle.Clear();
            }
        }

        connection.Dispose();
        stale?.ForEach(static c => c.Dispose());
        Log.ConnectionDiscarded(_logger, Address.RingName, cause);
        _metrics?.ConnectionDiscarded(Address, cause);
    }

    /// <summary>Closes every idle connection; lent ones are unaffected.</summary>
    internal void DiscardIdleConnections()
    {
        List<MemcachedConnection> idle;
        lock (_lock)
        {
            idle = [.. _idle];
            _open -= _idle.Count;
            _idle.Clear();
        }

        idle.ForEach(static c => c.Dispose());
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        // Connections still lent out are closed when they come back (ReturnIdle sees _disposed).
        DiscardIdleConnections();
        // The semaphore is left undisposed: callers still running release their slot into it.
    }
}
