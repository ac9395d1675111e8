using Dogpile;
using Dogpile.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Dogpile with a service collection.</summary>
public static class DogpileServiceCollectionExtensions
{
    /// <summary>
    /// Registers the region provider, <see cref="TimeProvider.System"/> (unless another is registered) and returns a
    /// builder to add named regions with. Each region is also a keyed singleton:
    /// <c>[FromKeyedServices("bugs")] CacheRegion bugs</c>. Every region's options are validated when the host starts
    /// (<c>ValidateOnStart</c>), with every problem in one <see cref="OptionsValidationException"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddDogpile(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ICacheRegionProvider, CacheRegionProvider>();
        return new DogpileBuilder(services);
    }

    /// <summary>Adds a named region configured in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The region's name.</param>
    /// <param name="configure">Sets the region's options; <see cref="CacheRegionOptions.Name"/> is set for you.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRegion(this IDogpileBuilder builder, string name, Action<CacheRegionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        OptionsBuilder<CacheRegionOptions> options = builder.Services.AddOptions<CacheRegionOptions>(name).Configure(o => o.Name = name);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CacheRegionOptions>, OptionsValidator<CacheRegionOptions>>());
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.Configure<RegionNames>(names => names.Names.Add(name));
        builder.Services.AddKeyedSingleton(name, static (sp, key) => sp.GetRequiredService<ICacheRegionProvider>().GetRegion((string)key!));
        return builder;
    }

    /// <summary>
    /// Adds a named region whose options are bound from configuration (for example the section
    /// <c>Dogpile:Regions:bugs</c> with <c>Expiration</c>, <c>StaleWindow</c>, <c>BackgroundRefresh</c>, ...), then
    /// adjusted by <paramref name="configure"/> (for the parts that are objects: backend, lock provider, runner).
    /// A key in the section that is not an option (a typo such as <c>Expiraton</c>) fails the host's start, listed with
    /// every other problem of the region's options.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The region's name.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <param name="configure">Further settings applied after binding.</param>
    /// <returns>The builder.</returns>
    public static IDogpileBuilder AddRegion(this IDogpileBuilder builder, string name, IConfiguration configuration, Action<CacheRegionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<CacheRegionOptions>(name).Bind(configuration);
        builder.Services.AddSingleton<IValidateOptions<CacheRegionOptions>>(new ConfigurationKeysValidator<CacheRegionOptions>(name, configuration));
        return builder.AddRegion(name, configure);
    }

    private sealed class DogpileBuilder(IServiceCollection services) : IDogpileBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
