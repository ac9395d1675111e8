using Dogpile;
using Dogpile.Internal;
using Dogpile.Redis;
using Microsoft.Extensions.Configuration;
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
    /// <c>"{name}:"</c> so they stay apart in Redis. The options are validated when the host starts, every problem listed.
    /// </summary>
    /// <param name="builder">The Dogpile builder.</param>
    /// <param name="configure">Sets the connection (connection string, configuration or multiplexer) and the other options.</param>
    /// <param name="useRefreshQueue">Whether background refreshes of cached functions go to the durable queue (run them with <see cref="AddRedisRefreshWorker(IDogpileBuilder, Action{RedisRefreshWorkerOptions})"/>).</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRedis(this IDogpileBuilder builder, Action<DogpileRedisOptions> configure, bool useRefreshQueue = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return AddRedisCore(builder, useRefreshQueue);
    }

    /// <summary>
    /// As <see cref="AddRedis(IDogpileBuilder, Action{DogpileRedisOptions}, bool)"/>, with the options bound from
    /// <paramref name="configuration"/> (for example the section <c>Dogpile:Redis</c> with <c>ConnectionString</c>,
    /// <c>KeyPrefix</c>, <c>LockLease</c>, ...), then adjusted by <paramref name="configure"/> (for a multiplexer you
    /// share). A key in the section that is not an option fails the host's start.
    /// </summary>
    /// <param name="builder">The Dogpile builder.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <param name="configure">Further settings applied after binding.</param>
    /// <param name="useRefreshQueue">Whether background refreshes of cached functions go to the durable queue.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRedis(this IDogpileBuilder builder, IConfiguration configuration, Action<DogpileRedisOptions>? configure = null, bool useRefreshQueue = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        OptionsBuilder<DogpileRedisOptions> options = builder.Services.AddOptions<DogpileRedisOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<IValidateOptions<DogpileRedisOptions>>(new ConfigurationKeysValidator<DogpileRedisOptions>(null, configuration));
        return AddRedisCore(builder, useRefreshQueue);
    }

    private static IDogpileBuilder AddRedisCore(IDogpileBuilder builder, bool useRefreshQueue)
    {
        IServiceCollection services = builder.Services;
        services.AddOptions<DogpileRedisOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DogpileRedisOptions>, OptionsValidator<DogpileRedisOptions>>());
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
    /// Runs a refresh-queue worker in this host (a hosted service, as <see cref="DogpileRedis.CreateWorker"/> makes): it
    /// takes refresh jobs from the queue and runs them on the regions registered with <c>AddDogpile().AddRegion(...)</c>
    /// (their cached functions must be created at start-up, under the same names as in the processes that enqueue).
    /// Its consumer name is set in the options when none is given, so <c>IOptions&lt;RedisRefreshWorkerOptions&gt;</c>
    /// reads it.
    /// </summary>
    /// <param name="builder">The Dogpile builder, after <c>AddRedis</c>.</param>
    /// <param name="configure">Sets the worker's options.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRedisRefreshWorker(this IDogpileBuilder builder, Action<RedisRefreshWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        OptionsBuilder<RedisRefreshWorkerOptions> options = builder.Services.AddOptions<RedisRefreshWorkerOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // After every Configure: the name the worker runs under is then the one the options show.
        options.PostConfigure(o => o.ConsumerName ??= RedisRefreshWorker.NewConsumerName());

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisRefreshWorkerOptions>, OptionsValidator<RedisRefreshWorkerOptions>>());
        if (builder.Services.Any(d => d.ServiceType == typeof(RedisRefreshWorker)))
        {
            // Called again (a library and the app both ask for the worker): one worker, every configuration applied in
            // order. Two registrations would start the same worker twice, two read loops sharing its state.
            return builder;
        }

        builder.Services.AddSingleton(sp =>
        {
            ICacheRegionProvider regions = sp.GetRequiredService<ICacheRegionProvider>();
            return new RedisRefreshWorker(
                sp.GetRequiredService<DogpileRedis>(),
                name => regions.RegionNames.Contains(name) ? regions.GetRegion(name) : null,
                sp.GetRequiredService<IOptions<RedisRefreshWorkerOptions>>().Value);
        });
        builder.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RedisRefreshWorker>());
        return builder;
    }

    /// <summary>
    /// As <see cref="AddRedisRefreshWorker(IDogpileBuilder, Action{RedisRefreshWorkerOptions})"/>, with the worker's
    /// options bound from <paramref name="configuration"/> (for example <c>Dogpile:Worker</c> with <c>MaxConcurrency</c>,
    /// <c>JobTimeout</c>, ...), then adjusted by <paramref name="configure"/>. A key in the section that is not an option
    /// fails the host's start.
    /// </summary>
    /// <param name="builder">The Dogpile builder, after <c>AddRedis</c>.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <param name="configure">Further settings applied after binding.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRedisRefreshWorker(this IDogpileBuilder builder, IConfiguration configuration, Action<RedisRefreshWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RedisRefreshWorkerOptions>().Bind(configuration);
        builder.Services.AddSingleton<IValidateOptions<RedisRefreshWorkerOptions>>(new ConfigurationKeysValidator<RedisRefreshWorkerOptions>(null, configuration));
        return builder.AddRedisRefreshWorker(configure);
    }
}
