using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dogpile.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// The one multiplexer of a <see cref="DogpileRedis"/> (so the connection count stays constant whatever the load),
/// the bounded-time wrapper every call goes through, its circuit breaker, and the one pub/sub subscription per channel.
/// </summary>
/// <remarks>
/// One breaker for the multiplexer: every command shares its connection, so one that fails as unavailable (not connected,
/// timed out, connection lost) says the same about the next. While it is open, calls fail at once with
/// <see cref="CacheBackendFailure.BreakerOpen"/>; one probe at a time goes through after each interval, and a reconnect
/// (the multiplexer's ConnectionRestored) lets the next call probe at once.
/// </remarks>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _multiplexer;
    private readonly bool _ownsMultiplexer;

    // True when the multiplexer's own AsyncTimeout is at most Timeout: it then bounds every call (on its 1 s heartbeat)
    // and a timer of our own per call would only add a timer-queue registration per read.
    private readonly bool _multiplexerBoundsCalls;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // How long a call waits for the first connect: the multiplexer's ConnectTimeout, not one OperationTimeout, so a
    // process that starts under load does not fail its first calls while the handshake is still on its way.
    private readonly TimeSpan _connectWait;
    private readonly ConcurrentDictionary<string, Lazy<Task>> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private volatile bool _isCluster;

    public RedisConnection(DogpileRedisOptions options, TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
        Timeout = options.OperationTimeout;
        Breaker = new CircuitBreaker(options.BreakerMinInterval, options.BreakerMaxInterval, time);
        Breaker.Opened += cause => Log.BreakerOpened(_logger, cause, Breaker.MinInterval, Breaker.MaxInterval);
        Breaker.Closed += duration => Log.BreakerClosed(_logger, duration);
        Keys = new RedisKeys(options.KeyPrefix, options.QueueName);
        if (options.Multiplexer is { } existing)
        {
            _multiplexer = new Lazy<Task<IConnectionMultiplexer>>(Task.FromResult(existing));
            _connectWait = Timeout;
            _multiplexerBoundsCalls = AsyncTimeoutOf(existing) is { } asyncTimeout && asyncTimeout <= options.OperationTimeout;
            Hook(existing);
        }
        else
        {
            ConfigurationOptions configuration = options.Configuration?.Clone() ?? ConfigurationOptions.Parse(options.ConnectionString!);
            int timeoutMs = (int)Math.Clamp(options.OperationTimeout.TotalMilliseconds, 1, int.MaxValue);

            // Bounded waits: never abort on a failed first connect (keep retrying in the background), fail commands
            // at once while disconnected instead of queueing them, and time out the ones that hang.
            configuration.AbortOnConnectFail = false;
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            configuration.SyncTimeout = timeoutMs;
            configuration.AsyncTimeout = timeoutMs;
            configuration.ConnectTimeout = Math.Max(configuration.ConnectTimeout, timeoutMs);
            _connectWait = TimeSpan.FromMilliseconds(configuration.ConnectTimeout);
            configuration.ClientName ??= "dogpile";
            _ownsMultiplexer = true;
            _multiplexerBoundsCalls = true;
            _multiplexer = new Lazy<Task<IConnectionMultiplexer>>(async () =>
            {
                IConnectionMultiplexer connected = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
                Hook(connected);
                return connected;
            });
        }
    }

    public RedisKeys Keys { get; }

    public TimeSpan Timeout { get; }

    public TimeProvider Time => _time;

    /// <summary>The multiplexer's circuit breaker (read by the health check).</summary>
    public CircuitBreaker Breaker { get; }

    /// <summary>Cancelled when this connection is disposed: background work on it stops.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Raised when the connection comes back after a failure (subscriptions re-load their state).</summary>
    public event Action? Restored;

    /// <summary>Raised when the subscription connection fails: messages published from now until <see cref="Restored"/> are lost.</summary>
    public event Action? SubscriptionLost;

    public Task<IConnectionMultiplexer> GetMultiplexerAsync() => _multiplexer.Value;

    /// <summary>
    /// The database, for a hot path to await directly, when the multiplexer's AsyncTimeout bounds every call (this
    /// connection configured it, or a supplied one's is at most <see cref="Timeout"/>) and it is connected; otherwise
    /// null and the call goes through <see cref="RunAsync{T}"/>.
    /// </summary>
    /// <remarks>Null while the breaker is not closed: the call then goes through <see cref="RunAsync{T}"/>, which answers for it.</remarks>
    public IDatabase? DirectDatabase
        => Breaker.IsClosed && _multiplexerBoundsCalls && _multiplexer.IsValueCreated && _multiplexer.Value is { IsCompletedSuccessfully: true } ready
            ? ready.Result.GetDatabase()
            : null;

    /// <summary>A call made on <see cref="DirectDatabase"/> failed as unavailable: it opens the breaker like any other.</summary>
    public void DirectCallFailed(Exception ex) => Breaker.OnFailure(BreakerAdmission.Allowed, ex);

    /// <summary>Runs one Redis call with a bounded wait; connection failures and time-outs become <see cref="DogpileRedisUnavailableException"/>.</summary>
    public async ValueTask<T> RunAsync<T>(Func<IDatabase, Task<T>> operation, string what, CancellationToken cancellationToken)
    {
        BreakerAdmission admission = Breaker.TryEnter();
        if (admission == BreakerAdmission.Rejected)
        {
            throw BreakerOpen(what);
        }

        long started = _time.GetTimestamp();
        bool sent = false;
        Activity? activity = RedisTelemetry.StartOperation(what);
        string? errorType = null;
        try
        {
            Task<IConnectionMultiplexer> connecting = _multiplexer.Value;
            IConnectionMultiplexer multiplexer = connecting.IsCompletedSuccessfully
                ? connecting.Result
                : await connecting.WaitAsync(_connectWait, _time, cancellationToken).ConfigureAwait(false);
            sent = true;
            Task<T> pending = operation(multiplexer.GetDatabase());

            T result = _multiplexerBoundsCalls && !cancellationToken.CanBeCanceled
                ? await pending.ConfigureAwait(false)
                : await pending.WaitAsync(Timeout, _time, cancellationToken).ConfigureAwait(false);
            Breaker.OnSuccess(admission);
            return result;
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            Breaker.OnFailure(admission, ex);
            errorType = typeof(DogpileRedisUnavailableException).FullName;
            throw Unavailable(what, ex, _time.GetElapsedTime(started), sent);
        }
        catch (Exception ex)
        {
            // Cancelled, or an answer that says Redis is there (a script error): nothing learnt about availability.
            Breaker.OnAbandoned(admission);
            errorType = ex.GetType().FullName;
            throw;
        }
        finally
        {
            RedisTelemetry.EndOperation(activity, what, _time.GetElapsedTime(started), errorType);
        }
    }

    /// <summary>The exception of a call the open breaker skipped: it says so, what failed last, and when the next probe goes.</summary>
    public DogpileRedisUnavailableException BreakerOpen(string what)
    {
        Exception? last = Breaker.LastFailure;
        string lastFailure = last is null ? "" : $" The last failure: {last.GetType().Name}: {last.Message}";
        return new DogpileRedisUnavailableException(
            $"Redis is unavailable: {what} was not sent: the circuit breaker is open (Redis failed {Milliseconds(Breaker.OpenFor)} ago; the next probe in {Milliseconds(Breaker.RetryIn)}), so the call failed at once without waiting.{lastFailure}",
            last is null ? null : last,
            CacheBackendFailure.BreakerOpen,
            TimeSpan.Zero);
    }

    public ValueTask RunAsync(Func<IDatabase, Task> operation, string what, CancellationToken cancellationToken)
        => new(RunAsync(async db =>
        {
            await operation(db).ConfigureAwait(false);
            return true;
        }, what, cancellationToken).AsTask());

    /// <summary>A supplied multiplexer's effective AsyncTimeout, or null when its configuration cannot be read.</summary>
    private static TimeSpan? AsyncTimeoutOf(IConnectionMultiplexer multiplexer)
    {
        try
        {
            return string.IsNullOrEmpty(multiplexer.Configuration)
                ? null
                : TimeSpan.FromMilliseconds(ConfigurationOptions.Parse(multiplexer.Configuration).AsyncTimeout);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the multiplexer talks to a Redis Cluster, where a multi-key command must stay within one hash slot.
    /// A cluster answer is kept; until a server has answered, the deployment counts as standalone.
    /// </summary>
    public bool IsCluster(IConnectionMultiplexer multiplexer)
    {
        if (_isCluster)
        {
            return true;
        }

        foreach (IServer server in multiplexer.GetServers())
        {
            if (server.IsConnected && server.ServerType == ServerType.Cluster)
            {
                _isCluster = true;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The exception for a failed call, saying what happened: not sent (no connection), refused by the server, the
    /// connection lost on the way, or no answer in time; with the time the call actually took, and whether Redis may
    /// still run the command (see <see cref="DogpileRedisUnavailableException.MayHaveRun"/>).
    /// </summary>
    /// <param name="what">The call, as the message names it.</param>
    /// <param name="ex">The client's error.</param>
    /// <param name="elapsed">How long the call took until it failed.</param>
    /// <param name="sent">False when it failed before the command was handed to the multiplexer (the first connect).</param>
    public DogpileRedisUnavailableException Unavailable(string what, Exception ex, TimeSpan elapsed, bool sent = true)
    {
        string after = Milliseconds(elapsed);
        (string happened, bool mayHaveRun, CacheBackendFailure failure) = ex switch
        {
            _ when !sent => ($"{what} was not sent: no connection to Redis after {after} (the first connect did not complete)", false, CacheBackendFailure.NotConnected),
            RedisConnectionException { FailureType: ConnectionFailureType.UnableToResolvePhysicalConnection } =>
                ($"{what} was not sent: not connected to Redis (failed after {after})", false, CacheBackendFailure.NotConnected),
            RedisConnectionException connection => ($"the connection failed during {what} ({connection.FailureType}, after {after})", true, CacheBackendFailure.ConnectionLost),
            RedisServerException => ($"Redis refused {what} after {after}", false, CacheBackendFailure.Refused),
            RedisTimeoutException or TimeoutException => ($"{what} timed out: no answer after {after} (the limit is {Milliseconds(Timeout)})", true, CacheBackendFailure.TimedOut),
            ObjectDisposedException => ($"{what} failed after {after}: the connection was disposed", false, CacheBackendFailure.NotConnected),
            _ => ($"{what} failed after {after}", true, CacheBackendFailure.Unknown),
        };
        return new DogpileRedisUnavailableException($"Redis is unavailable: {happened} ({ex.GetType().Name}: {ex.Message}). The connection is retried in the background.", ex, failure, elapsed) { MayHaveRun = mayHaveRun };
    }

    private static string Milliseconds(TimeSpan span) => span.TotalMilliseconds.ToString("#,0", CultureInfo.InvariantCulture) + " ms";

    public static bool IsUnavailable(Exception ex)
        => ex is RedisConnectionException or RedisTimeoutException or TimeoutException or ObjectDisposedException
            || (ex is RedisServerException server && (server.Message.StartsWith("LOADING", StringComparison.Ordinal) || server.Message.StartsWith("BUSY ", StringComparison.Ordinal)));

    /// <summary>Subscribes once per channel for the whole process; a failed subscription is retried on the next call.</summary>
    public Task EnsureSubscribedAsync(string channel, Action<RedisValue> onMessage)
    {
        Lazy<Task> subscription = _subscriptions.GetOrAdd(channel, c => new Lazy<Task>(() => SubscribeAsync(c, onMessage)));
        Task task = subscription.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            _subscriptions.TryRemove(new KeyValuePair<string, Lazy<Task>>(channel, subscription));
        }

        return task;
    }

    private async Task SubscribeAsync(string channel, Action<RedisValue> onMessage)
    {
        try
        {
            IConnectionMultiplexer multiplexer = await _multiplexer.Value.WaitAsync(_connectWait, _time).ConfigureAwait(false);
            await multiplexer.GetSubscriber()
                .SubscribeAsync(RedisChannel.Literal(channel), (_, message) => onMessage(message))
                .WaitAsync(Timeout, _time)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            Log.SubscribeFailed(_logger, ex, channel);
            throw;
        }
    }

    private void Hook(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                Restored?.Invoke();
            }
            else
            {
                // Back before the interval is out: let the next call find out instead of waiting for it.
                Breaker.ProbeNow();
            }
        };
        multiplexer.ConnectionFailed += (_, e) =>
        {
            Log.ConnectionFailed(_logger, e.Exception, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                SubscriptionLost?.Invoke();
            }
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        if (_ownsMultiplexer && _multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully)
        {
            await _multiplexer.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}
