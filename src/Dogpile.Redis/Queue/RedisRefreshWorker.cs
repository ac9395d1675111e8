using System.Collections.Concurrent;
using System.Globalization;
using Dogpile.Redis.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// The worker daemon of the refresh queue: reads jobs with <c>XREADGROUP</c> (woken by the enqueue's PUBLISH, polling
/// as a fallback), checks each with <see cref="CacheRegion.TryPrepareRegisteredRefresh"/>, runs it under the job's lock
/// (or a fresh one when that lock has expired), and acknowledges it only after the value is written and the lock released.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>At most <see cref="RedisRefreshWorkerOptions.MaxConcurrency"/> jobs run at once.</item>
/// <item>Jobs left unacknowledged by a dead consumer for <see cref="RedisRefreshWorkerOptions.MinIdleTime"/> are taken
/// over with <c>XAUTOCLAIM</c>; a failed job stays pending and is retried that way.</item>
/// <item>Each job is checked whole before any lock is taken: its fields, its region and function, its arguments
/// (decoded, within <see cref="RedisRefreshWorkerOptions.MaxArgumentsSize"/>), and the key they give (equal to the job's
/// backend key, within the backend's limit). A job that fails a check is dead-lettered at once with its reason, and the
/// lock it carries is released.</item>
/// <item>Each run has <see cref="RedisRefreshWorkerOptions.JobTimeout"/>; every lock the worker takes is released when
/// the run ends, however it ends. While a job runs its entry is kept owned, so a long job is not taken over by
/// another worker; a dead worker's jobs are.</item>
/// <item>After <see cref="RedisRefreshWorkerOptions.MaxAttempts"/> failed (or timed-out) runs the job moves to the
/// dead-letter stream with its reason, and the worker goes on.</item>
/// <item>On shutdown it stops reading, lets running jobs finish for up to
/// <see cref="RedisRefreshWorkerOptions.ShutdownTimeout"/>, then cancels them; what is unfinished stays pending.</item>
/// </list>
/// </remarks>
internal sealed partial class RedisRefreshWorker : BackgroundService
{
    private readonly DogpileRedis _redis;
    private readonly RedisConnection _connection;
    private readonly RedisRefreshQueue _queue;
    private readonly Func<string, CacheRegion?> _regions;
    private readonly RedisRefreshWorkerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _jobs = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RedisRefreshWorker(DogpileRedis redis, Func<string, CacheRegion?> regions, RedisRefreshWorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _redis = redis;
        _connection = redis.Connection;
        _queue = redis.Queue;
        _regions = regions;
        _options = options;
        _time = redis.TimeProvider;
        _logger = redis.LoggerFactory.CreateLogger("Dogpile.Redis.RedisRefreshWorker");
        _slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        ConsumerName = options.ConsumerName ?? NewConsumerName();
    }

    /// <summary>The default consumer name: <c>{machine}-{process id}-{random}</c>, unique per worker.</summary>
    internal static string NewConsumerName()
        => string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>This worker's consumer name in the group.</summary>
    public string ConsumerName { get; }

    /// <summary>Jobs running now.</summary>
    public int InFlight => _inFlight.Count;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        RedisKeys keys = _connection.Keys;
        TimeSpan claimInterval = _options.MinIdleTime / 2 < _options.PollInterval ? _options.MinIdleTime / 2 : _options.PollInterval;
        long lastClaim = 0;
        bool groupReady = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!groupReady)
                {
                    await EnsureGroupAsync(stoppingToken).ConfigureAwait(false);
                    _ = _connection.EnsureSubscribedAsync(keys.JobAddedChannel, _ => Wake());
                    groupReady = true;
                }

                TaskCompletionSource wake = Volatile.Read(ref _wake);
                if (lastClaim == 0 || _time.GetElapsedTime(lastClaim) >= claimInterval)
                {
                    lastClaim = _time.GetTimestamp();
                    await ClaimIdleAsync(stoppingToken).ConfigureAwait(false);
                    _ = await _queue.GetSnapshotAsync(stoppingToken).ConfigureAwait(false);
                    await MarkReadAsync(stoppingToken).ConfigureAwait(false);
                }

                if (_slots.CurrentCount == 0)
                {
                    // Every slot busy: wait for one before reading more.
                    await _slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                    _slots.Release();
                    continue;
                }

                StreamEntry[] entries = await _connection.RunAsync(
                    db => db.StreamReadGroupAsync(keys.JobStream, _queue.Group, ConsumerName, StreamPosition.NewMessages, _slots.CurrentCount),
                    "XREADGROUP",
                    stoppingToken).ConfigureAwait(false);
                foreach (StreamEntry entry in entries)
                {
                    _ = await DispatchAsync(entry, deliveries: 1, stoppingToken).ConfigureAwait(false);
                }

                if (entries.Length == 0)
                {
                    TimeSpan wait = claimInterval < _options.PollInterval ? claimInterval : _options.PollInterval;
                    await wake.Task.WaitAsync(wait, _time, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (TimeoutException) when (!stoppingToken.IsCancellationRequested)
            {
                // The poll interval passed without a wake-up: read again.
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                groupReady = false;
            }
#pragma warning disable CA1031 // The daemon outlives Redis outages and bugs in one job: log, pause, go on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.WorkerLoopFailed(_logger, ex);
                try
                {
                    await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await DrainAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        _jobs.Dispose();
        _slots.Dispose();
    }

    private void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task DrainAsync()
    {
        Log.WorkerStopping(_logger, ConsumerName, _inFlight.Count);
        Task all = Task.WhenAll(_inFlight.Keys);
        try
        {
            await all.WaitAsync(_options.ShutdownTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Past the shutdown budget: cancel; unacknowledged jobs stay pending for another worker.
            await _jobs.CancelAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Jobs log their own failures.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        try
        {
            await all.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Jobs log their own failures.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task EnsureGroupAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _connection.RunAsync(
                db => db.StreamCreateConsumerGroupAsync(_connection.Keys.JobStream, _queue.Group, StreamPosition.Beginning, createStream: true),
                "XGROUP CREATE",
                cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another worker created it.
        }
    }

    /// <summary>
    /// Stamps when a worker last read the queue (once per claim interval, not per read), for the health check: Redis
    /// lists a consumer only once it was delivered a job, so the group alone cannot say whether anyone reads an empty queue.
    /// </summary>
    private async Task MarkReadAsync(CancellationToken cancellationToken)
        => _ = await _connection.RunAsync(
            db => db.StringSetAsync(_connection.Keys.WorkerHeartbeat, _time.GetUtcNow().ToUnixTimeMilliseconds(), TimeSpan.FromDays(1)),
            "SET worker heartbeat",
            cancellationToken).ConfigureAwait(false);
}
