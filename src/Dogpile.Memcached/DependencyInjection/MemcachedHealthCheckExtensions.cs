using Dogpile.Memcached;
using Dogpile.Memcached.Health;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The health check of Dogpile's memcached servers, for <c>services.AddHealthChecks()</c>, after
/// <c>AddDogpile().AddMemcached(...)</c> (or any registration of one <see cref="DogpileMemcached"/>):
/// <c>services.AddHealthChecks().AddDogpileMemcached();</c>
/// </summary>
public static class MemcachedHealthCheckExtensions
{
    /// <summary>
    /// Checks every memcached server (its circuit breaker, then a no-op round trip). While a server is down and regions
    /// serve around it (<see cref="Dogpile.CacheBackendFailurePolicy.Degrade"/>, the default) the status is
    /// <see cref="HealthStatus.Degraded"/>; with <see cref="MemcachedCacheBackendOptions.FailurePolicy"/> set to Throw it is
    /// <paramref name="failureStatus"/>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status when a server is down and regions throw; <see langword="null"/> for Unhealthy.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddDogpileMemcached(this IHealthChecksBuilder builder, string name = "dogpile-memcached", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            static sp =>
            {
                DogpileMemcached memcached = sp.GetRequiredService<DogpileMemcached>();
                return new MemcachedHealthCheck(memcached.Client, memcached.FailurePolicy);
            },
            failureStatus,
            tags));
    }
}
