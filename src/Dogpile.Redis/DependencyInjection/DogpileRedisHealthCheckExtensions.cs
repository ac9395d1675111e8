using Dogpile.Redis;
using Dogpile.Redis.Health;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Health checks of Dogpile's Redis parts, for <c>services.AddHealthChecks()</c>, after <c>AddDogpile().AddRedis(...)</c>:
/// <c>services.AddHealthChecks().AddDogpileRedis().AddDogpileRedisQueue();</c>
/// </summary>
public static class DogpileRedisHealthCheckExtensions
{
    /// <summary>
    /// Checks the Redis connection: its circuit breaker, then a PING. While Redis is down and regions serve around it
    /// (<see cref="Dogpile.CacheBackendFailurePolicy.Degrade"/>, the default) the status is
    /// <see cref="HealthStatus.Degraded"/>, not Unhealthy: the site answers, without the shared cache. With
    /// <see cref="DogpileRedisOptions.FailurePolicy"/> set to Throw it is <paramref name="failureStatus"/>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status when Redis is down and regions throw; <see langword="null"/> for Unhealthy.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddDogpileRedis(this IHealthChecksBuilder builder, string name = "dogpile-redis", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(name, static sp => new RedisConnectionHealthCheck(sp.GetRequiredService<DogpileRedis>()), failureStatus, tags));
    }

    /// <summary>
    /// Checks the durable refresh queue: <see cref="HealthStatus.Degraded"/> when more than <paramref name="maxBacklog"/>
    /// jobs wait, the oldest has waited longer than <paramref name="maxOldestJobAge"/>, more than
    /// <paramref name="maxDeadLetters"/> jobs were dead-lettered, or no worker of the consumer group has read the queue
    /// within <paramref name="maxWorkerSilence"/> (workers poll every second when idle). Values are still served in each
    /// case; refreshes are late or lost.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="maxBacklog">The most jobs waiting before the queue counts as behind.</param>
    /// <param name="maxOldestJobAge">The longest the oldest job may wait; <see langword="null"/> for 1 minute.</param>
    /// <param name="maxDeadLetters">The most dead-lettered jobs tolerated (inspect and clear them with the admin CLI).</param>
    /// <param name="maxWorkerSilence">How long the queue may go unread by every worker; <see langword="null"/> for 1 minute.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddDogpileRedisQueue(
        this IHealthChecksBuilder builder,
        string name = "dogpile-redis-queue",
        long maxBacklog = 10_000,
        TimeSpan? maxOldestJobAge = null,
        long maxDeadLetters = 0,
        TimeSpan? maxWorkerSilence = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var limits = new RedisQueueHealthLimits(maxBacklog, maxOldestJobAge ?? TimeSpan.FromMinutes(1), maxDeadLetters, maxWorkerSilence ?? TimeSpan.FromMinutes(1));
        return builder.Add(new HealthCheckRegistration(name, sp => new RedisQueueHealthCheck(sp.GetRequiredService<DogpileRedis>(), limits), HealthStatus.Degraded, tags));
    }
}
