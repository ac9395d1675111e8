using Dogpile;
using Dogpile.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Packages.Web.Configuration;
using Packages.Web.Metrics;

namespace Packages.Web.Caching;

/// <summary>
/// <c>Cache:Backend redis</c>: <c>AddRedis</c> registers one <see cref="DogpileRedis"/> per process (one multiplexer)
/// and gives every region its backend, cross-process lock, invalidation and the <c>"{region}:"</c> key prefix. With <c>Cache:Refresh queue</c> background refreshes become jobs on
/// the Redis stream; <c>Worker:Enabled</c> (or the Packages.Worker process) runs them.
/// </summary>
internal sealed class RedisBackendFactory : ICacheBackendFactory
{
    /// <summary>Where the app's keys, locks and queue live in Redis.</summary>
    public const string KeyPrefix = "packages";

    public void AddServices(IDogpileBuilder dogpile, PackagesSettings settings)
    {
        dogpile.AddRedis(
            o =>
            {
                o.ConnectionString = string.Join(",", settings.Cache.Endpoints) + ",abortConnect=false";
                o.KeyPrefix = KeyPrefix;
            },
            useRefreshQueue: settings.Cache.Refresh == RefreshMode.Queue);
        IServiceCollection services = dogpile.Services;

        if (settings.Cache.Refresh == RefreshMode.Queue)
        {
            services.AddSingleton<IRefreshQueueDepth, RedisQueueDepth>();
        }

        if (settings.WorkerEnabled)
        {
            // By hand rather than AddRedisRefreshWorker: a job may arrive before any request built PackageCache, which
            // registers the cached functions jobs name. The options are registered so the worker's consumer name can be
            // read back (PackagesWorker prints it).
            services.AddOptions<RedisRefreshWorkerOptions>().Configure(o =>
            {
                o.ConsumerName = $"packages-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
                o.MaxConcurrency = settings.Worker.MaxConcurrency;
                o.MinIdleTime = settings.Worker.ReclaimAfter;
                o.PollInterval = TimeSpan.FromMilliseconds(250);
            });
            services.AddHostedService(sp =>
            {
                var regions = sp.GetRequiredService<ICacheRegionProvider>();
                return sp.GetRequiredService<DogpileRedis>().CreateWorker(
                    name =>
                    {
                        // The cached functions a job names are registered when PackageCache is built.
                        _ = sp.GetRequiredService<PackageCache>();
                        return regions.RegionNames.Contains(name) ? regions.GetRegion(name) : null;
                    },
                    sp.GetRequiredService<IOptions<RedisRefreshWorkerOptions>>().Value);
            });
        }
    }

    public void ConfigureRegion(CacheRegionOptions region, PackagesSettings settings, IServiceProvider services)
    {
        // AddRedis applies the shared parts to every region.
    }

    public void AddHealthChecks(IHealthChecksBuilder health)
    {
        health.AddDogpileRedis();
        health.AddDogpileRedisQueue();
    }

    // Dogpile.Redis reports an unreachable or slow server as DogpileRedisUnavailableException; the client's own
    // exceptions are listed too, for any call that reaches the multiplexer directly (the queue depth, say).
    public bool IsUnavailable(Exception error) =>
        error is DogpileRedisUnavailableException or RedisConnectionException or RedisTimeoutException;

    /// <summary>The stream's length for <c>/metrics</c>.</summary>
    private sealed class RedisQueueDepth(DogpileRedis redis) : IRefreshQueueDepth
    {
        public string QueueName => redis.Options.QueueName;

        public async ValueTask<long> GetDepthAsync(CancellationToken cancellationToken)
            => (await redis.GetQueueSnapshotAsync(cancellationToken).ConfigureAwait(false)).Length;

        public async ValueTask<long> GetDeadLettersAsync(CancellationToken cancellationToken)
            => (await redis.GetQueueSnapshotAsync(cancellationToken).ConfigureAwait(false)).DeadLetterLength;
    }
}
