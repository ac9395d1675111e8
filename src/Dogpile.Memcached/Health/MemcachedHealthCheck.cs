using Dogpile.Memcached.Client;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dogpile.Memcached.Health;

/// <summary>
/// Each memcached server: its circuit breaker, then a no-op round trip. A server down is
/// <see cref="HealthStatus.Degraded"/> while regions serve around it (<see cref="CacheBackendFailurePolicy.Degrade"/>),
/// and the check's failure status when they throw instead.
/// </summary>
internal sealed class MemcachedHealthCheck(MemcachedClient client, CacheBackendFailurePolicy? policy) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var down = new List<string>();
        Exception? firstFailure = null;
        foreach (MemcachedServerPool server in client.Servers)
        {
            string name = server.Address.ToString();
            // Through the breaker: fails at once while it is open, and is the probe when one is due.
            try
            {
                await server.ExecuteAsync("health", 0, static async (connection, state, ct) =>
                {
                    connection.Writer.Write("mn\r\n"u8);
                    await connection.FlushAsync(ct).ConfigureAwait(false);
                    _ = await connection.ReadAsync(ct).ConfigureAwait(false);
                    return true;
                }, idempotent: true, cancellationToken).ConfigureAwait(false);
                data[name] = "up";
            }
            catch (MemcachedException ex) when (MemcachedUnavailable.Is(ex))
            {
                data[name] = ex.Message;
                down.Add(name);
                firstFailure ??= ex;
            }
        }

        if (down.Count == 0)
        {
            return HealthCheckResult.Healthy($"All {client.Servers.Count} memcached servers answer.", data);
        }

        string description = $"memcached unavailable: {string.Join(", ", down)} of {client.Servers.Count} servers.";
        return policy is null or CacheBackendFailurePolicy.Degrade
            ? HealthCheckResult.Degraded(description + " Regions serve without them (degraded mode).", firstFailure, data)
            : new HealthCheckResult(context.Registration.FailureStatus, description, firstFailure, data);
    }
}
