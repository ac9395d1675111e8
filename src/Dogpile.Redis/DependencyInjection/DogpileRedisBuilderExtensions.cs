using Dogpile;
using Dogpile.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Dogpile's Redis parts with <c>AddDogpile()</c>.</summary>
public static class DogpileRedisBuilderExtensions
{
    /// <summary>
    /// Registers one <see cref="DogpileRedis"/> (one multiplexer for the process) and makes its backend, lock provider,
    /// invalidation store and, unless <paramref name="useRefreshQueue"/> is false, its durable refresh queue the defaults
    /// of every region; a region's own settings win. Regions without a <see cref="CacheRegionOptions.KeyPrefix"/> get
    /// <c>"{name}:"</c> so they stay apart in Redis.
    /// </summary>
    /// <param name="builder">The Dogpile builder.</param>
    /// <param name="configure">Sets the connection (connection string, configuration or multiplexer) and the other options.</param>
    /// <param name="useRefreshQueue">Whether background refreshes of cached functions go to the durable queue (run them with <see cref="AddRedisRefreshWorker"/>).</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRedis(this IDogpileBuilder builder, Action<DogpileRedisOptions> configure, bool useRefreshQueue = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        IServiceCollection services = builder.Services;
        services.Configure(configure);
        services.TryAddSingleton(sp => new DogpileRedis(
            sp.GetRequiredService<IOptions<DogpileRedisOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.AddSingleton<IPostConfigureOptions<CacheRegionOptions>>(sp => new PostConfigureOptions<CacheRegionOptions, DogpileRedis>(
            name: null,
            sp.GetRequiredService<DogpileRedis>(),
            (options, redis) => redis.ApplyTo(options, useRefreshQueue)));
        return builder;
    }

    /// <summary>
    /// Runs a <see cref="RedisRefreshWorker"/> in this host: it takes refresh jobs from the queue and runs them on the
    /// regions registered with <c>AddDogpile().AddRegion(...)</c> (their cached functions must be created at start-up,
    /// under the same names as in the processes that enqueue).
    /// </summary>
    /// <param name="builder">The Dogpile builder, after <see cref="AddRedis"/>.</param>
    /// <param name="configure">Sets the worker's options.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRedisRefreshWorker(this IDogpileBuilder builder, Action<RedisRefreshWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new RedisRefreshWorkerOptions();
        configure?.Invoke(options);
        builder.Services.AddSingleton(sp =>
        {
            ICacheRegionProvider regions = sp.GetRequiredService<ICacheRegionProvider>();
            return sp.GetRequiredService<DogpileRedis>().CreateWorker(name => regions.RegionNames.Contains(name) ? regions.GetRegion(name) : null, options);
        });
        builder.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RedisRefreshWorker>());
        return builder;
    }
}
