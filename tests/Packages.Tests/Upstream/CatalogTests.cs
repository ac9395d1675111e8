using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Packages.Upstream;

namespace Packages.Tests.Upstream;

public sealed class CatalogTests
{
    [Fact]
    public async Task TwoStarts_WithDefaultSeed_ServeIdenticalJson()
    {
        await using var first = await UpstreamHarness.StartAsync();
        await using var second = await UpstreamHarness.StartAsync();

        foreach (var path in new[] { "packages", "bugs/kernel", "bugs/bash", "bugs/perl-XML-Parser" })
        {
            Assert.Equal(await first.GetStringAsync(path), await second.GetStringAsync(path));
        }
    }

    [Fact]
    public async Task DifferentSeeds_ServeDifferentBugs_ButTheSamePackages()
    {
        await using var first = await UpstreamHarness.StartAsync(seed: 1);
        await using var second = await UpstreamHarness.StartAsync(seed: 2);

        Assert.Equal(await first.GetStringAsync("packages"), await second.GetStringAsync("packages"));
        Assert.NotEqual(await first.GetStringAsync("bugs/firefox"), await second.GetStringAsync("bugs/firefox"));
    }

    [Fact]
    public async Task Packages_ListsHundredsOfFedoraNames_SortedAndDistinct()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        var names = ReadPackages(await upstream.GetStringAsync("packages"));

        Assert.True(names.Count >= 300, $"only {names.Count} packages");
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        foreach (var expected in new[] { "kernel", "firefox", "glibc", "python3", "gcc", "systemd", "bash", "coreutils",
                     "openssl", "httpd", "nginx", "postgresql", "gnome-shell", "python3-requests", "perl-XML-Parser",
                     "rubygem-rails" })
        {
            Assert.Contains(expected, names);
        }

        Assert.Contains(names, name => name.StartsWith("golang-github-", StringComparison.Ordinal));
        Assert.Contains(names, name => name.StartsWith("texlive-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Packages_Search_MatchesCaseInsensitiveSubstring()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        var matches = ReadPackages(await upstream.GetStringAsync("packages?search=FIRE"));

        Assert.Contains("firefox", matches);
        Assert.Contains("firewalld", matches);
        Assert.All(matches, name => Assert.Contains("fire", name, StringComparison.OrdinalIgnoreCase));
        Assert.Empty(ReadPackages(await upstream.GetStringAsync("packages?search=no-such-thing")));
    }

    [Fact]
    public async Task Bugs_Kernel_HasTheMostBugs_AndSmallPackagesAHandful()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        var names = ReadPackages(await upstream.GetStringAsync("packages"));

        var counts = new Dictionary<string, int>();
        foreach (var name in names)
        {
            using var doc = JsonDocument.Parse(await upstream.GetStringAsync("bugs/" + Uri.EscapeDataString(name)));
            counts[name] = doc.RootElement.GetProperty("bugs").GetArrayLength();
        }

        var kernel = counts["kernel"];
        Assert.True(kernel >= 1000, $"kernel has only {kernel} bugs");
        Assert.All(counts.Where(pair => pair.Key != "kernel"), pair => Assert.True(pair.Value < kernel, $"{pair.Key} has {pair.Value}"));
        Assert.True(counts.Values.Min() is >= 1 and <= 5, $"smallest package has {counts.Values.Min()} bugs");
    }

    [Fact]
    public async Task Bugs_Json_HasExactlyPackageAndBugsWithIdSummaryStatus()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        using var doc = JsonDocument.Parse(await upstream.GetStringAsync("bugs/kernel"));

        var root = doc.RootElement;
        Assert.Equal(["package", "bugs"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("kernel", root.GetProperty("package").GetString());
        var statuses = new HashSet<string>();
        var ids = new List<int>();
        foreach (var bug in root.GetProperty("bugs").EnumerateArray())
        {
            Assert.Equal(["id", "summary", "status"], bug.EnumerateObject().Select(p => p.Name));
            ids.Add(bug.GetProperty("id").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(bug.GetProperty("summary").GetString()));
            statuses.Add(bug.GetProperty("status").GetString()!);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Subset(new HashSet<string> { "NEW", "ASSIGNED", "POST", "MODIFIED", "ON_QA", "VERIFIED", "CLOSED" }, statuses);
        Assert.Contains("NEW", statuses);
        Assert.Contains("CLOSED", statuses);
    }

    [Fact]
    public async Task Bugs_UnknownPackage_Returns404WithJsonError()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        using var response = await upstream.GetAsync("bugs/no-such-package");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("no package named 'no-such-package'", doc.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public void Options_BindFromUpstreamSection()
    {
        var config = new ConfigurationBuilder()
            .AddCommandLine(["--Upstream:DelayScale", "0.01", "--Upstream:Seed", "7"])
            .Build();

        var options = config.GetSection(UpstreamOptions.SectionName).Get<UpstreamOptions>()!;

        Assert.Equal(0.01, options.DelayScale);
        Assert.Equal(7, options.Seed);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public async Task StartAsync_InvalidDelayScale_ThrowsNamingTheOption(double scale)
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => UpstreamServer.StartAsync(new UpstreamOptions { DelayScale = scale }, CancellationToken.None));

        Assert.Equal("DelayScale", ex.ParamName);
    }

    internal static List<string> ReadPackages(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("packages").EnumerateArray().Select(e => e.GetString()!).ToList();
    }
}
