using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dogpile.Tests.Docs;

/// <summary>docs/options.md: its code runs as written, and its tables list every option of every options class.</summary>
public sealed partial class OptionsDocTests
{
    [Fact]
    public async Task RegionExample_RunsAsWritten()
    {
        // --- docs/options.md ---
        await using var bugs = new CacheRegion(new CacheRegionOptions
        {
            Name = "bugs",
            Expiration = TimeSpan.FromMinutes(1),
            StaleWindow = TimeSpan.FromHours(1),
            MaxStaleness = TimeSpan.FromMinutes(10),
            BackgroundRefresh = true,                                        // early refresh at 0.8 of the expiration follows
            Memory = new MemoryCacheBackendOptions { Capacity = 10_000, SizeLimit = 64L * 1024 * 1024 },
        });
        // --- end ---

        Assert.Equal("bugs", bugs.Name);
        Assert.IsType<MemoryCacheBackend>(bugs.Backend);
        Assert.Equal(3, await bugs.GetOrCreateAsync("k", _ => new ValueTask<int>(3)));
    }

    [Fact]
    public async Task ConfigurationExample_BindsAndStarts()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dogpile:Regions:bugs:Expiration"] = "00:05:00",
            ["Dogpile:Regions:bugs:Memory:Capacity"] = "10000",
            ["Dogpile:Regions:packages:StaleWindow"] = "1.00:00:00",
        });

        // --- docs/options.md ---
        builder.Services.AddDogpile()
            .AddRegion("bugs", builder.Configuration.GetSection("Dogpile:Regions:bugs"))
            .AddRegion("packages", builder.Configuration.GetSection("Dogpile:Regions:packages"), o => o.BackgroundRefresh = true);
        using IHost host = builder.Build();
        await host.StartAsync();   // an unknown key or an invalid value fails here, every problem listed
        // --- end ---

        CacheRegion bugs = host.Services.GetRequiredKeyedService<CacheRegion>("bugs");
        Assert.Equal(TimeSpan.FromMinutes(5), bugs.DefaultExpiration);
        Assert.Equal(10_000, Assert.IsType<MemoryCacheBackend>(bugs.Backend).Capacity);
        Assert.True(host.Services.GetRequiredService<IOptionsMonitor<CacheRegionOptions>>().Get("packages").BackgroundRefresh);
        await host.StopAsync();
    }

    [Fact]
    public void EveryCodeBlock_IsCompiledByATest()
    {
        string page = DocPages.Read("docs/options.md");
        IReadOnlyList<string> blocks = DocPages.CompiledBlocks(page);
        Assert.NotEmpty(blocks);
        Assert.Equal(blocks, DocPages.MarkedCode("docs/options.md"));
    }

    public static TheoryData<string> DogpileOptionsTypes => new() { nameof(CacheRegionOptions), nameof(CacheEntryOptions), nameof(MemoryCacheBackendOptions), nameof(DistributedCacheBackendOptions), nameof(NearCacheOptions) };

    [Theory]
    [MemberData(nameof(DogpileOptionsTypes))]
    public void DogpileOptionsTable_ListsEveryPublicProperty(string typeName)
    {
        Type type = typeof(CacheRegionOptions).Assembly.GetType("Dogpile." + typeName, throwOnError: true)!;
        string[] properties = [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => p.Name)];
        Assert.NotEmpty(properties);
        AssertTableLists(typeName, properties);
    }

    // Dogpile.Tests does not reference the Redis and memcached assemblies, so their options are read from the source:
    // every `public ... Name { get; set; }` (and the get-only `Servers` list that is filled in place).
    [Theory]
    [InlineData("DogpileRedisOptions", "src/Dogpile.Redis/DogpileRedisOptions.cs")]
    [InlineData("RedisRefreshWorkerOptions", "src/Dogpile.Redis/RedisRefreshWorkerOptions.cs")]
    [InlineData("DogpileMemcachedOptions", "src/Dogpile.Memcached/DogpileMemcachedOptions.cs")]
    [InlineData("MemcachedClientOptions", "src/Dogpile.Memcached/MemcachedClientOptions.cs")]
    [InlineData("MemcachedCacheBackendOptions", "src/Dogpile.Memcached/MemcachedCacheBackendOptions.cs")]
    [InlineData("MemcachedLockOptions", "src/Dogpile.Memcached/MemcachedLockOptions.cs")]
    public void AdapterOptionsTable_ListsEveryPublicProperty(string typeName, string sourceFile)
    {
        string source = DocPages.Read(sourceFile);
        int start = source.IndexOf("public sealed class " + typeName, StringComparison.Ordinal);
        Assert.True(start >= 0, $"{typeName} is not in {sourceFile}");
        int end = source.IndexOf("\npublic ", start + 1, StringComparison.Ordinal);
        string body = end < 0 ? source[start..] : source[start..end];
        string[] properties = [.. PublicProperty().Matches(body).Select(m => m.Groups[1].Value)];
        Assert.NotEmpty(properties);
        AssertTableLists(typeName, properties);
    }

    private static void AssertTableLists(string typeName, string[] properties)
    {
        string section = DocPages.Section(DocPages.Read("docs/options.md"), $"{typeName} ");
        string[] missing = [.. properties.Where(p => !section.Contains($"\n| `{p}` |", StringComparison.Ordinal))];
        Assert.True(missing.Length == 0, $"docs/options.md, {typeName}: no row for {string.Join(", ", missing)}");
    }

    [GeneratedRegex(@"public [\w<>?,. ]+ (\w+) \{ get; (?:set; )?\}")]
    private static partial Regex PublicProperty();
}
