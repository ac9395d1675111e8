using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Dogpile.Redis.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// The durable refresh runner: a refresh of a cached function becomes a job in a Redis stream (one script: a per-key
/// "pending" marker set with NX, then XADD, then a wake-up PUBLISH, so at most one job per key is pending), and the
/// region's lock goes with it to the worker.
/// </summary>
internal sealed class RedisRefreshQueue : IRefreshRunner, IDisposable
{
    /// <summary>The meter of Dogpile.Redis's instruments.</summary>
    public const string MeterName = "Dogpile.Redis";

    private const string SnapshotScript = """
        local len = redis.call('XLEN', KEYS[1])
        local pending = 0
        local ok, summary = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1])
        if ok and type(summary) == 'table' then pending = summary[1] end
        local dead = redis.call('XLEN', KEYS[2])
        local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
        local oldest = ''
        if #first > 0 then oldest = first[1][1] end
        return {len, pending, dead, oldest}
        """;

    private readonly RedisConnection _connection;
    private readonly DogpileRedisOptions _options;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _enqueuedCounter;
    private readonly Counter<long> _dedupCounter;
    private readonly Counter<long> _enqueueFailedCounter;
    private readonly Counter<long> _completedCounter;
    private readonly Counter<long> _failedCounter;
    private readonly Counter<long> _deadCounter;
    private readonly Counter<long> _reclaimedCounter;
    private readonly Histogram<double> _jobLag;
    private readonly Histogram<double> _jobLatency;
    private readonly Histogram<double> _jobProcess;
    private readonly KeyValuePair<string, object?> _queueTag;
    private long _enqueued;
    private long _deduplicated;
    private long _enqueueFailures;
    private long _completed;
    private long _failed;
    private long _deadLettered;
    private long _reclaimed;
    private RedisQueueSnapshot _last = new();

    public RedisRefreshQueue(RedisConnection connection, DogpileRedisOptions options, ILogger logger)
    {
        _connection = connection;
        _options = options;
        _logger = logger;
        _queueTag = new("dogpile.queue", options.QueueName);
        _meter = new Meter(MeterName);
        _enqueuedCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.enqueued", "{job}", "Refresh jobs added to the queue.");
        _dedupCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.deduplicated", "{job}", "Refreshes dropped because their key already had a pending job.");
        _enqueueFailedCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.enqueue_failed", "{job}", "Refreshes that could not be enqueued and ran in process.");
        _completedCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.completed", "{job}", "Jobs completed by workers.");
        _failedCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.failed", "{job}", "Job runs that failed.");
        _deadCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.dead_lettered", "{job}", "Jobs moved to the dead-letter stream.");
        _reclaimedCounter = _meter.CreateCounter<long>("dogpile.redis.jobs.reclaimed", "{job}", "Jobs taken over from idle consumers.");
        _jobLag = _meter.CreateHistogram<double>("dogpile.redis.jobs.lag", "ms", "Time from enqueue to the start of a job's run.");
        _jobLatency = _meter.CreateHistogram("dogpile.redis.job.latency", "s", "Time from a job's enqueue to the end of its run (completed, failed or dead-lettered).", tags: null, RedisTelemetry.JobAdvice);
        _jobProcess = _meter.CreateHistogram("dogpile.redis.job.process.duration", "s", "Time from a worker's claim of a job (XREADGROUP or XAUTOCLAIM) to the end of its run.", tags: null, RedisTelemetry.JobAdvice);
        _meter.CreateObservableGauge("dogpile.redis.queue.length", () => new Measurement<long>(Volatile.Read(ref _last).Length, _queueTag), "{job}", "Jobs not yet completed (XLEN), as last read.");
        _meter.CreateObservableGauge("dogpile.redis.queue.pending", () => new Measurement<long>(Volatile.Read(ref _last).Pending, _queueTag), "{job}", "Jobs delivered and not acknowledged (XPENDING), as last read.");
        _meter.CreateObservableGauge("dogpile.redis.queue.dead_letters", () => new Measurement<long>(Volatile.Read(ref _last).DeadLetterLength, _queueTag), "{job}", "Entries in the dead-letter stream (jobs that failed for good or were malformed), as last read.");
        _meter.CreateObservableGauge("dogpile.redis.queue.lag", () => new Measurement<double>(Volatile.Read(ref _last).Lag.TotalMilliseconds, _queueTag), "ms", "Age of the oldest job not completed, as last read.");
    }

    public RedisKeys Keys => _connection.Keys;

    public string Group => _options.ConsumerGroup;

    public async ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.FunctionName is null)
        {
            // A closure cannot leave this process: the region runs it on its in-process runner.
            return false;
        }

        ICacheLock? held = request.DistributedLock;
        string jobId = Guid.NewGuid().ToString("N");
        RedisKeys keys = _connection.Keys;
        RedisValue[] args =
        [
            jobId,
            (long)_options.DeduplicationWindow.TotalMilliseconds,
            _options.StreamMaxLength,
            keys.JobAddedChannel,
            JobFields.Job, jobId,
            JobFields.Region, request.RegionName,
            JobFields.Function, request.FunctionName,
            JobFields.Arguments, Convert.ToBase64String(request.SerializeArguments().Span),
            JobFields.Key, request.Key,
            JobFields.BackendKey, request.BackendKey,
            JobFields.Token, held?.OwnerToken ?? "",
            JobFields.Fence, (held?.FencingToken ?? 0).ToString(CultureInfo.InvariantCulture),
            JobFields.Reason, request.Reason.ToString(),
            JobFields.EnqueuedAt, _connection.Time.GetUtcNow().ToUnixTimeMilliseconds(),
        ];

        // The W3C trace context of the call that found the value stale: the worker's job span continues that trace.
        // Only when there is one: an untraced request adds no fields.
        ActivityContext parent = request.TraceContext;
        if (RedisTelemetry.TraceParent(parent) is { } traceParent)
        {
            string? traceState = parent.TraceState;
            args = traceState is { Length: > 0 and <= JobFieldChecks.MaxTraceStateLength }
                ? [.. args, JobFields.TraceParent, traceParent, JobFields.TraceState, traceState]
                : [.. args, JobFields.TraceParent, traceParent];
        }

        RedisResult result;
        try
        {
            result = await _connection.RunAsync(
                db => db.ScriptEvaluateAsync(Scripts.Enqueue, [keys.JobStream, keys.PendingMarker(request.BackendKey)], args),
                "enqueue",
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _enqueueFailures);
            _enqueueFailedCounter.Add(1, _queueTag);
            Log.EnqueueFailed(_logger, ex, request.RegionName, request.Key);
            return false;
        }

        if (result.IsNull)
        {
            // The key's job is already pending; it will refresh the key. This request's lock is not needed.
            Interlocked.Increment(ref _deduplicated);
            _dedupCounter.Add(1, _queueTag);
            Log.EnqueueDeduplicated(_logger, request.RegionName, request.Key);
            await request.ReleaseAsync().ConfigureAwait(false);
            return true;
        }

        // The lock now belongs to the job: stop renewing it here (the worker renews it when it runs the job).
        (held as RedisLockHandle)?.StopRenewal();
        request.HandOff();
        Interlocked.Increment(ref _enqueued);
        _enqueuedCounter.Add(1, _queueTag);
        return true;
    }

    public async ValueTask<RedisQueueSnapshot> GetSnapshotAsync(CancellationToken cancellationToken)
    {
        RedisKeys keys = _connection.Keys;
        RedisResult result = await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(SnapshotScript, [keys.JobStream, keys.DeadLetterStream], [_options.ConsumerGroup]),
            "queue snapshot",
            cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        string oldest = (string)parts[3]!;
        TimeSpan lag = TimeSpan.Zero;
        if (oldest.Length > 0 && long.TryParse(oldest.AsSpan(0, oldest.IndexOf('-', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture, out long ms))
        {
            lag = _connection.Time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(ms);
            lag = lag < TimeSpan.Zero ? TimeSpan.Zero : lag;
        }

        var snapshot = new RedisQueueSnapshot
        {
            Length = (long)parts[0],
            Pending = (long)parts[1],
            DeadLetterLength = (long)parts[2],
            Lag = lag,
            Enqueued = Volatile.Read(ref _enqueued),
            Deduplicated = Volatile.Read(ref _deduplicated),
            EnqueueFailures = Volatile.Read(ref _enqueueFailures),
            Completed = Volatile.Read(ref _completed),
            Failed = Volatile.Read(ref _failed),
            DeadLettered = Volatile.Read(ref _deadLettered),
            Reclaimed = Volatile.Read(ref _reclaimed),
        };
        Volatile.Write(ref _last, snapshot);
        return snapshot;
    }

    internal void CountCompleted(TimeSpan lag)
    {
        Interlocked.Increment(ref _completed);
        _completedCounter.Add(1, _queueTag);
        _jobLag.Record(lag.TotalMilliseconds, _queueTag);
    }

    /// <summary>Records how long one run of a job took from its claim, and from its enqueue when known, by outcome.</summary>
    internal void RecordRun(string outcome, TimeSpan sinceClaim, TimeSpan? sinceEnqueue)
    {
        if (_jobProcess.Enabled)
        {
            _jobProcess.Record(sinceClaim.TotalSeconds, _queueTag, new("dogpile.job.outcome", outcome));
        }

        if (sinceEnqueue is { } latency && _jobLatency.Enabled)
        {
            _jobLatency.Record(latency.TotalSeconds, _queueTag, new("dogpile.job.outcome", outcome));
        }
    }

    internal void CountFailed()
    {
        Interlocked.Increment(ref _failed);
        _failedCounter.Add(1, _queueTag);
    }

    internal void CountDeadLettered()
    {
        Interlocked.Increment(ref _deadLettered);
        _deadCounter.Add(1, _queueTag);
    }

    internal void CountReclaimed(int count)
    {
        Interlocked.Add(ref _reclaimed, count);
        _reclaimedCounter.Add(count, _queueTag);
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>The fields of a job entry in the stream.</summary>
internal static class JobFields
{
    public const string Job = "job";
    public const string Region = "region";
    public const string Function = "function";
    public const string Arguments = "args";
    public const string Key = "key";
    public const string BackendKey = "backendKey";
    public const string Token = "token";
    public const string Fence = "fence";
    public const string Reason = "refreshReason";
    public const string EnqueuedAt = "enqueuedAt";

    /// <summary>Optional: the W3C trace context of the request that enqueued the job.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>Optional, only with <see cref="TraceParent"/>: its W3C tracestate.</summary>
    public const string TraceState = "tracestate";
}
