using Dogpile;
using Dogpile.Internal;
using Dogpile.Memcached;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Dogpile's memcached parts with <c>AddDogpile()</c>.</summary>
public static class MemcachedDogpileBuilderExtensions
{
    /// <summary>
    /// Registers one <see cref="DogpileMemcached"/> (one client for the process, so connections stay within
    /// <see cref="MemcachedClientOptions.MaxConnectionsPerServer"/> per server however many regions use it) and makes its
    /// backend and lock provider the defaults of every region; a region's own settings win. Regions without a
    /// <see cref="CacheRegionOptions.KeyPrefix"/> get <c>"{name}:"</c> so they stay apart in memcached. The options are
    /// validated when the host starts, every problem listed. Regions on its backend get a near cache
    /// (<see cref="CacheRegionOptions.NearCache"/>: memcached has no change feed, so a near entry is trusted for
    /// <see cref="NearCacheOptions.Duration"/>, 1 s by default, the bound on how long another process's write may go unseen).
    /// </summary>
    /// <example>
    /// <code>
    /// builder.Services.AddDogpile()
    ///     .AddMemcached(o => o.Client.Servers.Add("cache1:11211"))
    ///     .AddRegion("bugs", o => o.Expiration = TimeSpan.FromMinutes(5));
    /// </code>
    /// </example>
    /// <param name="builder">The builder from <c>AddDogpile()</c>.</param>
    /// <param name="configure">Sets the servers, pool, lock and key prefix.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddMemcached(this IDogpileBuilder builder, Action<DogpileMemcachedOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return AddMemcachedCore(builder);
    }

    /// <summary>
    /// As <see cref="AddMemcached(IDogpileBuilder, Action{DogpileMemcachedOptions})"/>, with the options bound from
    /// <paramref name="configuration"/> (for example the section <c>Dogpile:Memcached</c> with <c>Client:Servers:0</c>,
    /// <c>Lock:Lease</c>, ...), then adjusted by <paramref name="configure"/>. A key in the section that is not an option
    /// fails the host's start.
    /// </summary>
    /// <param name="builder">The builder from <c>AddDogpile()</c>.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <param name="configure">Further settings applied after binding.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddMemcached(this IDogpileBuilder builder, IConfiguration configuration, Action<DogpileMemcachedOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        OptionsBuilder<DogpileMemcachedOptions> options = builder.Services.AddOptions<DogpileMemcachedOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<IValidateOptions<DogpileMemcachedOptions>>(new ConfigurationKeysValidator<DogpileMemcachedOptions>(null, configuration));
        return AddMemcachedCore(builder);
    }

    private static IDogpileBuilder AddMemcachedCore(IDogpileBuilder builder)
    {
        IServiceCollection services = builder.Services;
        services.AddOptions<DogpileMemcachedOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DogpileMemcachedOptions>, OptionsValidator<DogpileMemcachedOptions>>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new DogpileMemcached(
            sp.GetRequiredService<IOptions<DogpileMemcachedOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CacheRegionOptions>, MemcachedRegionDefaults>());
        return builder;
    }

    /// <summary>Fills in the memcached parts of regions that chose none, after their own configuration ran.</summary>
    private sealed class MemcachedRegionDefaults(IServiceProvider services) : IPostConfigureOptions<CacheRegionOptions>
    {
        public void PostConfigure(string? name, CacheRegionOptions options) => services.GetRequiredService<DogpileMemcached>().ApplyTo(options);
    }
}
