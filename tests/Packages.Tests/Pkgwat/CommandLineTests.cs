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

    [Fact]
    public void Parse_OptionMayComeAnywhere()
    {
        var first = CommandLine.TryParse(["--url", "http://h:1", "bugs", "kernel"], out _);
        var last = CommandLine.TryParse(["bugs", "kernel", "--url=http://h:1"], out _);

        Assert.Equal(new ParsedCommand(CommandKind.Bugs, "kernel", "http://h:1"), first);
        Assert.Equal(first, last);
    }
}
