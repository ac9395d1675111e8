using System.Globalization;
using Dogpile.Redis.Internal;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Dogpile.Redis.Health;

/// <summary>
/// The durable refresh queue: its backlog, the age of its oldest job, its dead letters, and whether any worker of the
/// consumer group has read it recently. Any of those past its bound is <see cref="HealthStatus.Degraded"/> (refreshes are
/// late or lost, values are still served); Redis itself down is Degraded too, since refreshes then run in process.
/// </summary>
internal sealed class RedisQueueHealthCheck(DogpileRedis redis, RedisQueueHealthLimits limits) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        RedisConnection connection = redis.Connection;
        RedisQueueSnapshot snapshot;
        RedisValue lastReadMs;
        try
        {
            snapshot = await redis.GetQueueSnapshotAsync(cancellationToken).ConfigureAwait(false);
            lastReadMs = await connection.RunAsync(db => db.StringGetAsync(connection.Keys.WorkerHeartbeat), "GET worker heartbeat", cancellationToken).ConfigureAwait(false);
        }
        catch (DogpileRedisUnavailableException ex)
        {
            return HealthCheckResult.Degraded("The refresh queue cannot be read: Redis is unavailable; refreshes run in process meanwhile.", ex);
        }

        TimeSpan? lastRead = !lastReadMs.IsNull && lastReadMs.TryParse(out long ms)
            ? connection.Time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;
        lastRead = lastRead < TimeSpan.Zero ? TimeSpan.Zero : lastRead;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["backlog"] = snapshot.Length,
            ["pending"] = snapshot.Pending,
            ["oldestJobAgeMs"] = snapshot.Lag.TotalMilliseconds,
            ["deadLetters"] = snapshot.DeadLetterLength,
            ["lastWorkerReadMsAgo"] = lastRead?.TotalMilliseconds ?? -1,
        };

        var problems = new List<string>();
        if (snapshot.Length > limits.MaxBacklog)
        {
            problems.Add($"{snapshot.Length} jobs waiting (more than {limits.MaxBacklog})");
        }

        if (snapshot.Lag > limits.MaxOldestJobAge)
        {
            problems.Add($"the oldest job waits for {Seconds(snapshot.Lag)} (more than {Seconds(limits.MaxOldestJobAge)})");
        }

        if (snapshot.DeadLetterLength > limits.MaxDeadLetters)
        {
            problems.Add($"{snapshot.DeadLetterLength} dead-lettered jobs");
        }

        if (lastRead is null || lastRead > limits.MaxWorkerSilence)
        {
            problems.Add(lastRead is null
                ? "no worker has ever read the queue"
                : $"no worker has read the queue for {Seconds(lastRead.Value)} (more than {Seconds(limits.MaxWorkerSilence)})");
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy("The refresh queue is served by its workers.", data)
            : HealthCheckResult.Degraded("Refresh queue: " + string.Join("; ", problems) + ".", data: data);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
