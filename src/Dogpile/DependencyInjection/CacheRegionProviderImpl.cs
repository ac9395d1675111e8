using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dogpile.Internal;

internal sealed class RegionNames
{
    public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
}

internal sealed class CacheRegionProvider(
    IOptionsMonitor<CacheRegionOptions> options,
    IOptions<RegionNames> names,
    TimeProvider timeProvider,
    ILoggerFactory? loggerFactory = null) : ICacheRegionProvider, IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<CacheRegion>> _regions = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> RegionNames => names.Value.Names;

    public CacheRegion GetRegion(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!names.Value.Names.Contains(name))
        {
            throw new ArgumentException($"No cache region named '{name}' is registered; add it with AddDogpile().AddRegion(\"{name}\", ...).", nameof(name));
        }

        return _regions.GetOrAdd(name, n => new Lazy<CacheRegion>(() => Build(n))).Value;
    }

    private CacheRegion Build(string name)
    {
        CacheRegionOptions regionOptions;
        try
        {
            regionOptions = options.Get(name);
        }
        catch (OptionsValidationException ex)
        {
            // The start-up validators also run here, on first use; keep GetRegion's documented exception.
            throw new ArgumentException($"The options of cache region '{name}' are invalid: {ex.Message}", nameof(name), ex);
        }

        regionOptions.Name = name;
        return new CacheRegion(regionOptions, timeProvider, loggerFactory);
    }

    /// <summary>
    /// For a container disposed synchronously (<c>using var provider = services.BuildServiceProvider()</c>), which
    /// refuses a singleton that can only be disposed asynchronously. Stopping a region's refreshes awaits nothing that
    /// needs this thread, so waiting here cannot deadlock.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        foreach (Lazy<CacheRegion> region in _regions.Values)
        {
            if (region.IsValueCreated)
            {
                await region.Value.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
