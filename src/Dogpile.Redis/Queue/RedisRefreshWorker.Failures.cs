using Dogpile.Redis.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

// A failed run: counted per job, retried while attempts remain, then moved to the dead-letter stream.
internal sealed partial class RedisRefreshWorker
{
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
}
