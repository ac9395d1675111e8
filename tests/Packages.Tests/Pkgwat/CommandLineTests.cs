using Pkgwat;

namespace Packages.Tests.Pkgwat;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://127.0.0.1:5080/", "http://127.0.0.1:5080/")]
    [InlineData("https://apps.example.org/packages", "https://apps.example.org/packages/")]
    public void BaseUrl_GetsATrailingSlash_SoApiPathsAppend(string text, string expected)
    {
        var baseUrl = CommandLine.TryParseBaseUrl(text);

        Assert.Equal(expected, baseUrl?.ToString());
        Assert.Equal(expected + "api/packages", new Uri(baseUrl!, "api/packages").ToString());
    }

    [Theory]
    [InlineData("127.0.0.1:5080")]
    [InlineData("ftp://example.org")]
    [InlineData("/relative")]
    public void BaseUrl_RejectsNonHttpOrRelative(string text)
    {
        Assert.Null(CommandLine.TryParseBaseUrl(text));
    }

    [Theory]
    [InlineData("45", 45.0)]
    [InlineData(" 0.5 ", 0.5)]
    public void Seconds_AcceptsPositiveNumbers(string text, double expected)
    {
        Assert.Equal(expected, CommandLine.TryParseSeconds(text));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("soon")]
    [InlineData("1e12")]
    public void Seconds_RejectsZeroNegativeHugeAndText(string text)
    {
        Assert.Null(CommandLine.TryParseSeconds(text));
    }

    [Fact]
    public void GlobalOptions_MayComeBeforeOrAfterTheCommand()
    {
        var line = new CommandLine();
        var root = line.Build((_, _, _) => Task.FromResult(0));

        var first = root.Parse(["--url", "http://h:1", "--json", "bugs", "kernel", "--limit", "5"]);
        var last = root.Parse(["bugs", "kernel", "--url=http://h:1", "--json", "-l", "5"]);

        foreach (var parse in new[] { first, last })
        {
            Assert.Empty(parse.Errors);
            Assert.Equal("http://h:1", parse.GetValue(line.Url));
            Assert.True(parse.GetValue(line.Json));
            Assert.Equal("kernel", parse.GetValue(line.PackageName));
            Assert.Equal(5, parse.GetValue(line.Limit));
            Assert.Equal(1, parse.GetValue(line.Page));
            Assert.Equal("open", parse.GetValue(line.Status));
        }
    }

    [Fact]
    public void DefaultTimeout_OutlastsTheAppsOwnUpstreamTimeoutAndLockWait()
    {
        // The app gives the tracker 30 s (Upstream:TimeoutSeconds) and a waiting request up to 5 s more for the lock.
        Assert.True(PkgwatEnvironment.BuiltInTimeoutSeconds > 30 + 5);
    }
}
