using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Dogpile.Memcached.Client;

/// <summary>
/// The connections to one server: at most <see cref="MemcachedClientOptions.MaxConnectionsPerServer"/> sockets,
/// each lent to one caller at a time, plus the server's dead/alive state.
/// </summary>
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
    private int _open;
    private long _deadUntilUtcTicks;
    private Exception? _deathCause;
    private bool _disposed;

    public MemcachedServerPool(ServerAddress address, MemcachedClientOptions options, TimeProvider timeProvider, ILogger logger, MemcachedMetrics? metrics = null)
    {
        Address = address;
        _metrics = metrics;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxConnectionsPerServer, options.MaxConnectionsPerServer);
    }

    public ServerAddress Address { get; }

    /// <summary>Sockets currently open to this server, idle or lent out.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Whether calls for this server currently fail fast.</summary>
    public bool IsDead
    {
        get
        {
            var until = Volatile.Read(ref _deadUntilUtcTicks);
            return until != 0 && _timeProvider.GetUtcNow().UtcTicks < until;
        }
    }

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
        ThrowIfDead();
        await AcquireSlotAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                // Re-check: while this caller queued, another may have found the server dead.
                ThrowIfDead();
                var pooled = TakeIdle();
                var connection = pooled ?? await OpenAsync(cancellationToken).ConfigureAwait(false);
                using var timeout = new CancellationTokenSource(_options.RequestTimeout, _timeProvider);
                using var link = cancellationToken.CanBeCanceled
                    ? cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout)
                    : default;
                try
                {
                    var result = await operation(connection, state, timeout.Token).ConfigureAwait(false);
                    ReturnIdle(connection);
                    return result;
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
                {
                    Discard(connection, ex, drainIdle: false);
                    throw new MemcachedTimeoutException(
                        $"A request to memcached server {Address} took longer than the request timeout {_options.RequestTimeout}. The connection was discarded.", ex);
                }
                catch (MemcachedConnectionException ex) when (idempotent && pooled is not null && attempt == 0)
                {
                    Discard(connection, ex, drainIdle: true);
                }
                catch (Exception ex)
                {
                    // A reset or close usually means the server went away: its idle sockets are stale too.
                    Discard(connection, ex, drainIdle: ex is MemcachedConnectionException);
                    throw;
                }
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private void ThrowIfDead()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsDead)
        {
            ThrowDead();
        }
    }

    private void ThrowDead()
    {
        var until = new DateTimeOffset(Volatile.Read(ref _deadUntilUtcTicks), TimeSpan.Zero);
        throw new MemcachedServerUnavailableException(
            $"memcached server {Address} is marked dead until {until:O} after a failed connect; its keys are not remapped to other servers.",
            _deathCause);
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
            var connection = await MemcachedConnection.OpenAsync(Address, _options.MaxItemSize, linked.Token).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _deadUntilUtcTicks, 0) != 0)
            {
                _deathCause = null;
                Log.ServerRevived(_logger, Address.RingName);
            }

            return connection;
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
                    var timedOut = new MemcachedTimeoutException(
                        $"Connecting to memcached server {Address} took longer than the connect timeout {_options.ConnectTimeout}.", ex);
                    MarkDead(timedOut);
                    throw timedOut;
                case SocketException socketException:
                    var failed = new MemcachedConnectionException(
                        $"Connecting to memcached server {Address} failed: {socketException.Message}", ex);
                    MarkDead(failed);
                    throw failed;
                default:
                    throw;
            }
        }
    }

    private void MarkDead(Exception cause)
    {
        _deathCause = cause;
        // A zero retry delay still marks the failure; the next call simply tries again.
        var until = _timeProvider.GetUtcNow().Add(_options.DeadServerRetryDelay).UtcTicks;
        Volatile.Write(ref _deadUntilUtcTicks, Math.Max(until, 1));
        Log.ServerMarkedDead(_logger, Address.RingName, _options.DeadServerRetryDelay, cause);
        _metrics?.ServerMarkedDead(Address);
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
