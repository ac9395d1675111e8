using Dogpile;
using Dogpile.Hybrid;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Dogpile as the application's <see cref="HybridCache"/>.</summary>
public static class DogpileHybridCacheServiceCollectionExtensions
{
    /// <summary>The name of the region behind the <see cref="HybridCache"/> unless another is given.</summary>
    public const string DefaultRegionName = "hybrid";

    /// <summary>
    /// Registers <see cref="HybridCache"/> backed by a Dogpile region named <see cref="DefaultRegionName"/>: the one-line
    /// change from <c>AddHybridCache()</c>. Chain <c>.AddRedis(...)</c> (or memcached) on the returned builder for the
    /// distributed setup; the region gets it like any other. <see cref="IHybridCacheSerializer{T}"/>s and
    /// <see cref="IHybridCacheSerializerFactory"/>s registered in DI serialize values for backends that store bytes.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the region's options (expiration, stale window, ...).</param>
    /// <returns>The Dogpile builder.</returns>
    public static IDogpileBuilder AddDogpileHybridCache(this IServiceCollection services, Action<CacheRegionOptions>? configure = null)
        => services.AddDogpileHybridCache(DefaultRegionName, configure);

    /// <summary>Registers <see cref="HybridCache"/> backed by the Dogpile region <paramref name="regionName"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="regionName">The region's name (its key prefix in Redis and its invalidation name).</param>
    /// <param name="configure">Sets the region's options.</param>
    /// <returns>The Dogpile builder.</returns>
    public static IDogpileBuilder AddDogpileHybridCache(this IServiceCollection services, string regionName, Action<CacheRegionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        IDogpileBuilder builder = services.AddDogpile().AddRegion(regionName, configure);
        services.AddOptions<CacheRegionOptions>(regionName).PostConfigure<IServiceProvider>(
            (options, sp) => options.Serializer = new HybridCacheSerializers(sp, options.Serializer ?? SystemTextJsonCacheSerializer.Default));
        services.TryAddSingleton<HybridCache>(sp => new DogpileHybridCache(sp.GetRequiredService<ICacheRegionProvider>().GetRegion(regionName)));
        return builder;
    }
}
