using System.Net;
using System.Text.Json;

namespace Packages.Tests.Upstream;

public sealed class InputValidationTests
{
    [Theory]
    [InlineData("bugs/a%01b")]
    [InlineData("bugs/kernel%0A")]
    [InlineData("packages?search=fi%00re")]
    public async Task ControlCharacters_Return400WithJsonError(string path)
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        using var response = await upstream.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("control characters", ErrorOf(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task NameOver200Characters_Returns400_AndExactly200IsJustUnknown()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        using var tooLong = await upstream.GetAsync("bugs/" + new string('a', 201));
        using var longest = await upstream.GetAsync("bugs/" + new string('a', 200));

        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("longer than 200", ErrorOf(await tooLong.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.NotFound, longest.StatusCode);
    }

    [Fact]
    public async Task RejectedAndUnknownNames_AreNotCountedInStats()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        (await upstream.GetAsync("bugs/a%01b")).Dispose();
        (await upstream.GetAsync("bugs/no-such-package")).Dispose();

        Assert.Equal("""{"total":0,"calls":{}}""", await upstream.GetStringAsync("stats"));
    }

    private static string ErrorOf(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("error").GetString()!;
    }
}
