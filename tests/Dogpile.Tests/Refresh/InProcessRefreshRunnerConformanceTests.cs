using Dogpile.Testing;

namespace Dogpile.Tests.Refresh;

/// <summary>The refresh-runner contract for the embedded default: the memory backend and the bounded in-process runner.</summary>
public sealed class InProcessRefreshRunnerConformanceTests : RefreshRunnerConformanceTests, IAsyncLifetime
{
    private readonly List<CacheRegion> _regions = [];

    protected override ValueTask<CacheRegion> CreateRegionAsync(string name, Action<CacheRegionOptions> configure)
    {
        var options = new CacheRegionOptions { Name = name };
        configure(options);
        var region = new CacheRegion(options);
        _regions.Add(region);
        return new ValueTask<CacheRegion>(region);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (CacheRegion region in _regions)
        {
            await region.DisposeAsync();
        }
    }
}
