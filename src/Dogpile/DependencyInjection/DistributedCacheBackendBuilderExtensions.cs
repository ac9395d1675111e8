using Dogpile;
using Dogpile.Internal;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes the registered <see cref="IDistributedCache"/> the shared level of Dogpile's regions.</summary>
public static class DistributedCacheBackendBuilderExtensions
{
    /// <summary>
    /// Registers a <see cref="DistributedCacheBackend"/> over the <see cref="IDistributedCache"/> registered in the
    /// container (SQL Server, SQLite, Cosmos DB, ...) and makes it the <see cref="CacheRegionOptions.Backend"/> of every
    /// region that set none. Regions without a <see cref="CacheRegionOptions.KeyPrefix"/> get <c>"{name}:"</c> so they
    /// stay apart in the store. No lock is added: see docs/distributed-cache.md for what that means and how to add one.
    /// </summary>
    /// <param name="builder">The builder from <c>AddDogpile()</c>.</param>
    /// <param name="configure">Sets the backend's limits; <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddDistributedCacheBackend(this IDogpileBuilder builder, Action<DistributedCacheBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        OptionsBuilder<DistributedCacheBackendOptions> options = services.AddOptions<DistributedCacheBackendOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DistributedCacheBackendOptions>, OptionsValidator<DistributedCacheBackendOptions>>());
        services.TryAddSingleton(static sp => new DistributedCacheBackend(
            sp.GetRequiredService<IDistributedCache>(),
            sp.GetRequiredService<IOptions<DistributedCacheBackendOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CacheRegionOptions>, DistributedCacheRegionDefaults>());
        return builder;
    }

    /// <summary>Fills in the backend (and the per-region key prefix) of regions that chose none, after their own configuration ran.</summary>
    private sealed class DistributedCacheRegionDefaults(IServiceProvider services) : IPostConfigureOptions<CacheRegionOptions>
    {
        public void PostConfigure(string? name, CacheRegionOptions options)
        {
            if (options.Backend is not null || options.Memory is not null)
            {
                // A region with its own backend, or bounds for the default memory one, keeps it.
                return;
            }

            options.Backend = services.GetRequiredService<DistributedCacheBackend>();
            if (string.IsNullOrEmpty(options.KeyPrefix) && !string.IsNullOrEmpty(options.Name))
            {
                options.KeyPrefix = options.Name + ":";
            }
        }
    }
}
