using System.Globalization;
using Dogpile.Internal;
using Dogpile.Redis.Internal;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dogpile.Redis.Health;

/// <summary>
/// The Redis connection: its circuit breaker, then a PING. Redis down is <see cref="HealthStatus.Degraded"/> while regions
/// serve around it (<see cref="CacheBackendFailurePolicy.Degrade"/>), and the check's failure status (Unhealthy by
/// default) when they throw instead.
/// </summary>
internal sealed class RedisConnectionHealthCheck(DogpileRedis redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        RedisConnection connection = redis.Connection;
        CircuitBreaker breaker = connection.Breaker;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["breaker"] = breaker.State.ToString(),
            ["breakerOpenedTimes"] = breaker.TimesOpened,
            ["operationTimeoutMs"] = connection.Timeout.TotalMilliseconds,
        };
        // The PING goes through the breaker: while it is open it fails at once, and when a probe is due it is the probe, so
        // a check alone (no traffic) also finds Redis back.
        long started = connection.Time.GetTimestamp();
        try
        {
            TimeSpan latency = await connection.RunAsync(db => db.PingAsync(), "PING", cancellationToken).ConfigureAwait(false);
            data["pingMs"] = connection.Time.GetElapsedTime(started).TotalMilliseconds;
            data["serverLatencyMs"] = latency.TotalMilliseconds;
            return HealthCheckResult.Healthy("Redis answers.", data);
        }
        catch (DogpileRedisUnavailableException ex)
        {
            data["breaker"] = breaker.State.ToString();
            data["breakerOpenForMs"] = breaker.OpenFor.TotalMilliseconds;
            string description = ex.Failure == CacheBackendFailure.BreakerOpen
                ? $"Redis is unavailable: the circuit breaker has been open for {Seconds(breaker.OpenFor)} ({breaker.LastFailure?.Message ?? "no answer"})."
                : ex.Message;
            return Down(context, description, ex, data);
        }
    }

    private HealthCheckResult Down(HealthCheckContext context, string description, Exception? ex, Dictionary<string, object> data)
    {
        bool degrades = redis.Options.FailurePolicy is null or CacheBackendFailurePolicy.Degrade;
        data["policy"] = degrades ? "Degrade" : "Throw";
        return degrades
            ? HealthCheckResult.Degraded(description + " Regions serve without it (degraded mode).", ex, data)
            : new HealthCheckResult(context.Registration.FailureStatus, description, ex, data);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
