using System.Collections.Concurrent;
using System.Diagnostics;
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
internal sealed class RedisRefreshWorker : BackgroundService
{
    /// <summary>
    /// KEYS: stream. ARGV: group, consumer, entry id. Resets the idle time of a job this consumer still owns (XCLAIM
    /// JUSTID leaves the delivery count alone), so a job that runs longer than MinIdleTime is not taken over while its
    /// worker lives; a job another worker already took is left to it.
    /// </summary>
    private const string HeartbeatScript = """
        if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2]) == 1 then
          redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
          return 1
        end
        return 0
        """;

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

    /// <summary>A running job's entry is touched this often: well inside <see cref="RedisRefreshWorkerOptions.MinIdleTime"/>.</summary>
    private TimeSpan HeartbeatPeriod => _options.MinIdleTime / 3;

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

    private async Task ClaimIdleAsync(CancellationToken cancellationToken)
    {
        int free = _slots.CurrentCount;
        if (free == 0)
        {
            return;
        }

        StreamAutoClaimResult claimed = await _connection.RunAsync(
            db => db.StreamAutoClaimAsync(_connection.Keys.JobStream, _queue.Group, ConsumerName, (long)_options.MinIdleTime.TotalMilliseconds, "0-0", free),
            "XAUTOCLAIM",
            cancellationToken).ConfigureAwait(false);
        StreamEntry[] entries = claimed.ClaimedEntries.Where(e => !e.IsNull).ToArray();
        if (entries.Length == 0)
        {
            return;
        }

        // How often each was delivered: a job that kills its worker every time never fails "properly", so it is
        // dead-lettered once delivered more often than the attempts allow.
        StreamPendingMessageInfo[] pending = await _connection.RunAsync(
            db => db.StreamPendingMessagesAsync(_connection.Keys.JobStream, _queue.Group, entries.Length + _options.MaxConcurrency, ConsumerName, entries[0].Id, entries[^1].Id),
            "XPENDING",
            cancellationToken).ConfigureAwait(false);
        Dictionary<string, int> deliveries = pending.ToDictionary(p => (string)p.MessageId!, p => p.DeliveryCount, StringComparer.Ordinal);
        int count = 0;
        foreach (StreamEntry entry in entries)
        {
            if (await DispatchAsync(entry, deliveries.GetValueOrDefault((string)entry.Id!, 0), cancellationToken).ConfigureAwait(false))
            {
                count++;
            }
        }

        if (count > 0)
        {
            _queue.CountReclaimed(count);
            Log.JobsReclaimed(_logger, ConsumerName, count);
        }
    }

    /// <summary>Starts the job on a free slot; <see langword="false"/> when this worker is already handling it.</summary>
    private async Task<bool> DispatchAsync(StreamEntry entry, int deliveries, CancellationToken cancellationToken)
    {
        string entryId = (string)entry.Id!;
        long claimed = _time.GetTimestamp();
        if (!_running.TryAdd(entryId, 0))
        {
            // XAUTOCLAIM handed back a job this worker is still handling (a beat came late): it must not run twice.
            return false;
        }

        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _running.TryRemove(entryId, out _);
            throw;
        }

        Task job = Task.Run(async () =>
        {
            // From the first moment: checking and dead-lettering a large job can take a while too.
            using ITimer heartbeat = _time.CreateTimer(static state => ((JobHeartbeat)state!).Beat(), new JobHeartbeat(this, entryId), HeartbeatPeriod, HeartbeatPeriod);
            try
            {
                await ProcessAsync(entry, deliveries, claimed, _jobs.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A bug in one job's handling must not fault the worker: the job stays pending and is handled again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.WorkerLoopFailed(_logger, ex);
            }
            finally
            {
                _running.TryRemove(entryId, out _);
                _slots.Release();
            }
        }, CancellationToken.None);
        _inFlight.TryAdd(job, 0);
        _ = job.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return true;
    }

    private async Task ProcessAsync(StreamEntry entry, int deliveries, long claimed, CancellationToken shutdown)
    {
        string entryId = (string)entry.Id!;
        Dictionary<string, string> fields = new(StringComparer.Ordinal);
        foreach (NameValueEntry field in entry.Values)
        {
            fields[(string)field.Name!] = (string?)field.Value ?? "";
        }

        string jobId = fields.GetValueOrDefault(JobFields.Job, "");
        using Activity? activity = StartJobActivity(fields, entryId, jobId, deliveries);

        // The whole job is checked before any lock is taken: a job that can never run must not hold its key's lock.
        string? problem = Check(fields, deliveries, out RegisteredRefresh? refresh, out long fence, out TimeSpan lag);
        if (problem is not null)
        {
            await ReleaseJobLockAsync(fields).ConfigureAwait(false);
            await DeadLetterAsync(entryId, jobId, fields, problem, shutdown).ConfigureAwait(false);
            EndRun(activity, "dead_lettered", claimed, sinceEnqueue: null, problem);
            return;
        }

        long started = _time.GetTimestamp();
        TimeSpan? SinceEnqueue() => fields.ContainsKey(JobFields.EnqueuedAt) ? lag + _time.GetElapsedTime(started) : null;

        using var timeout = new CancellationTokenSource(_options.JobTimeout, _time);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(shutdown, timeout.Token);
        try
        {
            RedisLockHandle? held = null;
            try
            {
                held = await TakeLockAsync(refresh!.BackendKey, fields.GetValueOrDefault(JobFields.Token, ""), fence, run.Token).ConfigureAwait(false);
                if (held is not null)
                {
                    // WaitAsync: a function that ignores cancellation is abandoned at the time limit, not waited for.
                    Task<RefreshOutcome> running = refresh.RunAsync(held, run.Token).AsTask();
                    _ = running.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    _ = await running.WaitAsync(run.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                // Every lock the worker took is released before the job is acknowledged, retried or dead-lettered,
                // however the run ended (a no-op when the fenced write already released it).
                if (held is not null)
                {
                    await ReleaseQuietlyAsync(held).ConfigureAwait(false);
                }
            }

            // No lock: another owner is creating this key right now, and that creation stands for this job.
            await CompleteAsync(entryId, jobId, refresh.BackendKey).ConfigureAwait(false);
            _queue.CountCompleted(lag);
            EndRun(activity, "completed", claimed, SinceEnqueue(), error: null);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            // Shutdown: the job stays pending for another worker.
            activity?.SetTag("dogpile.job.outcome", "abandoned");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            _queue.CountFailed();
            var late = new TimeoutException($"The job ran longer than JobTimeout ({_options.JobTimeout}).");
            await RecordFailureAsync(entryId, jobId, fields, late, shutdown).ConfigureAwait(false);
            EndRun(activity, "failed", claimed, SinceEnqueue(), late.Message);
        }
        catch (DogpileRedisUnavailableException ex)
        {
            // Not the job's fault: it stays pending and is retried once Redis is back.
            Log.WorkerLoopFailed(_logger, ex);
            EndRun(activity, "failed", claimed, SinceEnqueue(), ex.Message);
        }
#pragma warning disable CA1031 // A failing job is counted, retried, and finally dead-lettered: never fatal to the worker.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _queue.CountFailed();
            await RecordFailureAsync(entryId, jobId, fields, ex, shutdown).ConfigureAwait(false);
            EndRun(activity, "failed", claimed, SinceEnqueue(), ex.Message);
        }
    }

    /// <summary>
    /// The job's span. A child of the enqueuing request's span, not a link: each job has exactly one enqueuer (a key's
    /// duplicate refreshes are dropped at the enqueue, not batched), and the point of carrying the context is that the
    /// trace of the page that found the value stale shows the refresh it caused, in this process, with its spans. A
    /// link would start a new trace that a trace view shows only as a reference. Retries of the job (after a failure
    /// or a dead worker) are further children of the same request.
    /// </summary>
    private Activity? StartJobActivity(Dictionary<string, string> fields, string entryId, string jobId, int deliveries)
    {
        if (!RedisTelemetry.Source.HasListeners())
        {
            return null;
        }

        Activity? activity = RedisTelemetry.Source.StartActivity("dogpile.redis.job", ActivityKind.Consumer, JobFieldChecks.TraceContext(fields));
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "redis");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.destination.name", _redis.Options.QueueName);
            activity.SetTag("messaging.message.id", entryId);
            activity.SetTag("messaging.consumer.group.name", _queue.Group);
            activity.SetTag("dogpile.worker", ConsumerName);
            activity.SetTag("dogpile.job.id", jobId);
            activity.SetTag("dogpile.job.deliveries", deliveries);
            activity.SetTag("dogpile.region", fields.GetValueOrDefault(JobFields.Region));
            activity.SetTag("dogpile.function", fields.GetValueOrDefault(JobFields.Function));
        }

        return activity;
    }

    private void EndRun(Activity? activity, string outcome, long claimed, TimeSpan? sinceEnqueue, string? error)
    {
        _queue.RecordRun(outcome, _time.GetElapsedTime(claimed), sinceEnqueue);
        if (activity is not null)
        {
            activity.SetTag("dogpile.job.outcome", outcome);
            if (error is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, error);
            }
        }
    }

    /// <summary>Why the job cannot run (then it is dead-lettered), or <see langword="null"/> with the job ready to run.</summary>
    private string? Check(Dictionary<string, string> fields, int deliveries, out RegisteredRefresh? refresh, out long fence, out TimeSpan lag)
    {
        refresh = null;
        lag = TimeSpan.Zero;
        string? problem = JobFieldChecks.Validate(fields, _options.MaxArgumentsSize, out byte[] arguments, out fence, out long? enqueuedMs);
        if (problem is not null)
        {
            return problem;
        }

        string regionName = fields[JobFields.Region];
        CacheRegion? region;
        try
        {
            region = _regions(regionName);
        }
        catch (ArgumentException)
        {
            region = null;
        }

        if (region is null)
        {
            return $"unknown region '{JobFieldChecks.Shorten(regionName)}'";
        }

        if (!region.TryPrepareRegisteredRefresh(fields[JobFields.Function], arguments, out refresh, out problem))
        {
            return problem;
        }

        // The lock, the fence and the pending marker are all the named key's: arguments that give another key would
        // run under that lock, be fenced against the other key's counter and write nothing.
        string backendKey = fields[JobFields.BackendKey];
        if (!string.Equals(refresh.BackendKey, backendKey, StringComparison.Ordinal))
        {
            return $"mismatched key: the arguments give the backend key '{JobFieldChecks.Shorten(refresh.BackendKey)}', the job names '{JobFieldChecks.Shorten(backendKey)}'";
        }

        if (fields.TryGetValue(JobFields.Key, out string? key) && key.Length > 0 && !string.Equals(refresh.Key, key, StringComparison.Ordinal))
        {
            return $"mismatched key: the arguments give the key '{JobFieldChecks.Shorten(refresh.Key)}', the job names '{JobFieldChecks.Shorten(key)}'";
        }

        if (deliveries > _options.MaxAttempts)
        {
            return $"delivered {deliveries} times without completing (its workers died or hung)";
        }

        if (enqueuedMs is { } ms)
        {
            lag = _time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(ms);
            lag = lag < TimeSpan.Zero ? TimeSpan.Zero : lag; // clocks of other machines
        }

        return null;
    }

    /// <summary>
    /// The job's own lock when its token still holds it (extended, then renewed while the job runs); otherwise (the
    /// lease ended while the job waited, or a retry) a fresh lock; <see langword="null"/> when another owner holds it.
    /// </summary>
    private async ValueTask<RedisLockHandle?> TakeLockAsync(string backendKey, string token, long fence, CancellationToken cancellationToken)
    {
        RedisLockProvider locks = _redis.Locks;
        if (token.Length > 0)
        {
            RedisLockHandle restored = locks.Restore(backendKey, token, fence);
            if (await restored.ExtendAsync(locks.Lease, cancellationToken).ConfigureAwait(false))
            {
                locks.StartRenewal(restored);
                return restored;
            }
        }

        return (await locks.TryAcquireCoreAsync(backendKey, readValue: false, cancellationToken).ConfigureAwait(false)).Lock;
    }

    private async ValueTask ReleaseQuietlyAsync(RedisLockHandle held)
    {
        try
        {
            await held.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Its lease ends it anyway; the job's outcome is already recorded.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.WorkerLoopFailed(_logger, ex);
        }
    }

    private async ValueTask ReleaseJobLockAsync(Dictionary<string, string> fields)
    {
        if (fields.TryGetValue(JobFields.BackendKey, out string? backendKey) && backendKey.Length > 0
            && fields.TryGetValue(JobFields.Token, out string? token) && token.Length > 0)
        {
            try
            {
                await _redis.Locks.Restore(backendKey, token, 0).ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Its lease ends it anyway.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private async ValueTask RecordFailureAsync(string entryId, string jobId, Dictionary<string, string> fields, Exception ex, CancellationToken cancellationToken)
    {
        try
        {
            string failureKey = jobId.Length > 0 ? jobId : entryId;
            long attempts = await _connection.RunAsync(db => db.HashIncrementAsync(_connection.Keys.Failures, failureKey), "HINCRBY", cancellationToken).ConfigureAwait(false);
            Log.JobFailed(_logger, ex, jobId, fields.GetValueOrDefault(JobFields.Region, "?"), fields.GetValueOrDefault(JobFields.Function, "?"), attempts, _options.MaxAttempts);
            if (attempts >= _options.MaxAttempts)
            {
                await DeadLetterAsync(entryId, jobId, fields, $"failed {attempts} times; last error: {ex.GetType().Name}: {ex.Message}", cancellationToken).ConfigureAwait(false);
            }

            // Otherwise it stays pending: after MinIdleTime a worker claims it and runs it again.
        }
#pragma warning disable CA1031 // Redis is down: the job stays pending and is retried later.
        catch (Exception redisError)
#pragma warning restore CA1031
        {
            Log.WorkerLoopFailed(_logger, redisError);
        }
    }

    private async ValueTask CompleteAsync(string entryId, string jobId, string backendKey)
    {
        RedisKeys keys = _connection.Keys;
        await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(Scripts.Complete, [keys.JobStream, keys.PendingMarker(backendKey), keys.Failures], [_queue.Group, entryId, jobId]),
            "XACK",
            CancellationToken.None).ConfigureAwait(false);
    }

    private async ValueTask DeadLetterAsync(string entryId, string jobId, Dictionary<string, string> fields, string reason, CancellationToken cancellationToken)
    {
        RedisKeys keys = _connection.Keys;
        string backendKey = fields.GetValueOrDefault(JobFields.BackendKey, "");
        var args = new List<RedisValue>
        {
            _queue.Group,
            entryId,
            jobId,
            _redis.Options.StreamMaxLength,
        };
        foreach (KeyValuePair<string, string> field in fields)
        {
            args.Add(field.Key);
            args.Add(field.Value);
        }

        args.Add("reason");
        args.Add(reason);
        args.Add("entryId");
        args.Add(entryId);
        args.Add("consumer");
        args.Add(ConsumerName);
        args.Add("deadLetteredAt");
        args.Add(_time.GetUtcNow().ToUnixTimeMilliseconds());
        try
        {
            RedisResult moved = await _connection.RunAsync(
                db => db.ScriptEvaluateAsync(
                    Scripts.DeadLetter,
                    [keys.JobStream, keys.DeadLetterStream, keys.PendingMarker(backendKey.Length > 0 ? backendKey : "\0"), keys.Failures],
                    [.. args]),
                "dead-letter",
                cancellationToken).ConfigureAwait(false);
            if ((long)moved == 1)
            {
                _queue.CountDeadLettered();
                Log.JobDeadLettered(_logger, entryId, reason);
            }
        }
#pragma warning disable CA1031 // Redis is down: the job stays pending and is handled again later.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.WorkerLoopFailed(_logger, ex);
        }
    }

    /// <summary>Keeps one running job's entry owned by this worker (see <see cref="HeartbeatScript"/>).</summary>
    private sealed class JobHeartbeat(RedisRefreshWorker worker, string entryId)
    {
        private int _beating;

        public void Beat() => _ = BeatAsync();

        private async Task BeatAsync()
        {
            // A slow Redis must not pile up beats.
            if (Interlocked.Exchange(ref _beating, 1) != 0)
            {
                return;
            }

            try
            {
                RedisConnection connection = worker._connection;
                await connection.RunAsync(
                    db => db.ScriptEvaluateAsync(HeartbeatScript, [connection.Keys.JobStream], [worker._queue.Group, worker.ConsumerName, entryId]),
                    "job heartbeat",
                    CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Best effort: a missed beat at worst lets another worker run the job too, which the fence makes safe.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.WorkerLoopFailed(worker._logger, ex);
            }
            finally
            {
                Volatile.Write(ref _beating, 0);
            }
        }
    }
}
