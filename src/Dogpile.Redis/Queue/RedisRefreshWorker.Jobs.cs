using System.Diagnostics;
using Dogpile.Redis.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

// Running one job: check it whole, take its lock, run the refresh within JobTimeout, acknowledge.
internal sealed partial class RedisRefreshWorker
{
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

    private async ValueTask CompleteAsync(string entryId, string jobId, string backendKey)
    {
        RedisKeys keys = _connection.Keys;
        await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(Scripts.Complete, [keys.JobStream, keys.PendingMarker(backendKey), keys.Failures], [_queue.Group, entryId, jobId]),
            "XACK",
            CancellationToken.None).ConfigureAwait(false);
    }
}
