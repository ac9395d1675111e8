using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Tests.Region;

/// <summary>The README's quick start, compiled and run, so the README cannot drift from the API.</summary>
public sealed class ReadmeQuickStartTests
{
    private sealed record BugList(string Package, string[] Bugs);

    private static ValueTask<BugList> FetchBugsFromTrackerAsync(string package, CancellationToken ct)
        => new(new BugList(package, [$"{package}: it crashes"]));

    [Fact]
    public async Task QuickStart_RunsAsWritten()
    {
        // --- README quick start ---
        await using var bugs = new CacheRegion(new CacheRegionOptions
        {
            Name = "bugs",
            Expiration = TimeSpan.FromMinutes(1),   // fresh for a minute
            StaleWindow = TimeSpan.FromHours(1),    // then served stale (while one refresh runs) for up to an hour
            BackgroundRefresh = true,               // nobody waits for a refresh once a value exists
        });

        BugList kernel = await bugs.GetOrCreateAsync("kernel", ct => FetchBugsFromTrackerAsync("kernel", ct));

        // A cached function: keys are built from its name and arguments ("bugs:kernel").
        CachedFunction<string, BugList> getBugs = bugs.CreateFunction<string, BugList>("bugs", FetchBugsFromTrackerAsync);
        CacheItem<BugList> item = await getBugs.InvokeItemAsync("kernel");
        Console.WriteLine($"{item.Value.Bugs.Length} bugs, {item.Source}, age {item.Age.TotalSeconds:F0}s");
        // --- end ---

        Assert.Equal("kernel", kernel.Package);
        Assert.Equal(CacheItemSource.Miss, item.Source);
        Assert.Equal("bugs:kernel", getBugs.KeyFor("kernel"));
    }

    [Fact]
    public async Task DependencyInjection_RunsAsWritten()
    {
        var services = new ServiceCollection();
        // --- README DI ---
        services.AddDogpile()
            .AddRegion("bugs", o =>
            {
                o.Expiration = TimeSpan.FromMinutes(1);
                o.BackgroundRefresh = true;
            });
        // --- end ---
        await using ServiceProvider provider = services.BuildServiceProvider();
        CacheRegion region = provider.GetRequiredKeyedService<CacheRegion>("bugs");
        Assert.Equal(1, await region.GetOrCreateAsync("k", _ => new ValueTask<int>(1)));
    }
}
