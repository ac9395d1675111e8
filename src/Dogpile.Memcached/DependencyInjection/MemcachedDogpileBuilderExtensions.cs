using Dogpile;
using Dogpile.Memcached;
using Dogpile.Memcached.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds memcached to Dogpile: one shared client, the backend, and the cross-process lock.</summary>
public static class MemcachedDogpileBuilderExtensions
{
    /// <summary>
    /// Registers one memcached client for the process (a singleton, so connections stay within
    /// <see cref="MemcachedClientOptions.MaxConnectionsPerServer"/> per server however many regions use it), a
    /// <see cref="MemcachedCacheBackend"/> and a <see cref="MemcachedLockProvider"/> on it, and makes them the
    /// <see cref="CacheRegionOptions.Backend"/> and <see cref="CacheRegionOptions.LockProvider"/> of every region that
    /// did not set its own.
    /// </summary>
    /// <example>
    /// <code>
    /// builder.Services.AddDogpile()
    ///     .AddMemcached(o => o.Servers.Add("cache1:11211"))
    ///     .AddRegion("bugs", o => { o.Expiration = TimeSpan.FromMinutes(5); o.KeyPrefix = "bugs:"; });
    /// </code>
    /// </example>
    /// <param name="builder">The builder from <c>AddDogpile()</c>.</param>
    /// <param name="configureClient">Sets the servers and pool settings.</param>
    /// <param name="configureLock">Sets the lock's lease and back-off; <see langword="null"/> for the defaults.</param>
    /// <param name="configureBackend">Sets the backend's own key prefix; <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddMemcached(
        this IDogpileBuilder builder,
        Action<MemcachedClientOptions> configureClient,
        Action<MemcachedLockOptions>? configureLock = null,
        Action<MemcachedCacheBackendOptions>? configureBackend = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureClient);
        IServiceCollection services = builder.Services;
        services.Configure(configureClient);
        OptionsBuilder<MemcachedLockOptions> lockOptions = services.AddOptions<MemcachedLockOptions>();
        if (configureLock is not null)
        {
            lockOptions.Configure(configureLock);
        }

        OptionsBuilder<MemcachedCacheBackendOptions> backendOptions = services.AddOptions<MemcachedCacheBackendOptions>();
        if (configureBackend is not null)
        {
            backendOptions.Configure(configureBackend);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new MemcachedClient(
            sp.GetRequiredService<IOptions<MemcachedClientOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("Dogpile.Memcached")));
        services.TryAddSingleton(static sp => new MemcachedCacheBackend(
            sp.GetRequiredService<MemcachedClient>(),
            sp.GetRequiredService<IOptions<MemcachedCacheBackendOptions>>().Value,
            ownsClient: false));
        services.TryAddSingleton(static sp => new MemcachedLockProvider(
            sp.GetRequiredService<MemcachedClient>(),
            sp.GetRequiredService<MemcachedCacheBackend>().KeyPrefix,
            sp.GetRequiredService<IOptions<MemcachedLockOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            ownsClient: false));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CacheRegionOptions>, MemcachedRegionDefaults>());
        return builder;
    }

    /// <summary>Fills in the backend and lock of regions that chose none, after their own configuration ran.</summary>
    private sealed class MemcachedRegionDefaults(IServiceProvider services) : IPostConfigureOptions<CacheRegionOptions>
    {
        public void PostConfigure(string? name, CacheRegionOptions options)
        {
            options.Backend ??= services.GetRequiredService<MemcachedCacheBackend>();
            options.LockProvider ??= services.GetRequiredService<MemcachedLockProvider>();
        }
    }
}
