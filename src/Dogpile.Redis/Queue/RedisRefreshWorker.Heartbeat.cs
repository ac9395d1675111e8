using Dogpile.Redis.Internal;

namespace Dogpile.Redis;

// Keeping a running job's entry owned, so a job that runs longer than MinIdleTime is not taken over.
internal sealed partial class RedisRefreshWorker
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

    /// <summary>A running job's entry is touched this often: well inside <see cref="RedisRefreshWorkerOptions.MinIdleTime"/>.</summary>
    private TimeSpan HeartbeatPeriod => _options.MinIdleTime / 3;

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
