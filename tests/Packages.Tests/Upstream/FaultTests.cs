using System.Net;
using System.Text.Json;

namespace Packages.Tests.Upstream;

public sealed class FaultTests
{
    [Fact]
    public async Task Faults_DefaultsToNone()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        Assert.Equal("""{"mode":"none","delayMs":0}""", await upstream.GetStringAsync("faults"));
    }

    [Fact]
    public async Task Fail_Returns500WithJsonError_AndStillCounts()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await upstream.SetFaultAsync("""{"mode": "fail"}""");

        using var response = await upstream.GetAsync("bugs/kernel");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("fail", doc.RootElement.GetProperty("error").GetString());
        Assert.Equal("""{"mode":"fail","delayMs":0}""", await upstream.GetStringAsync("faults"));
        Assert.Equal("""{"total":1,"calls":{"kernel":1}}""", await upstream.GetStringAsync("stats"));
    }

    [Fact]
    public async Task Garbage_Returns200JsonContentTypeWithTruncatedBody_AndStillCounts()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await upstream.SetFaultAsync("""{"mode": "garbage"}""");

        using var response = await upstream.GetAsync("bugs/kernel");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("""{"package":"kernel","bugs":[{"id":""", body);
        Assert.EndsWith("\"summ", body);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
        Assert.Equal("""{"total":1,"calls":{"kernel":1}}""", await upstream.GetStringAsync("stats"));
    }

    [Fact]
    public async Task None_RestoresNormalAnswers()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        var normal = await upstream.GetStringAsync("bugs/gcc");
        await upstream.SetFaultAsync("""{"mode": "fail"}""");

        await upstream.SetFaultAsync("""{"mode": "none"}""");

        Assert.Equal(normal, await upstream.GetStringAsync("bugs/gcc"));
    }

    [Theory]
    [InlineData("""{"mode": "explode"}""", "unknown fault mode 'explode'; expected one of: none, fail, slow, garbage")]
    [InlineData("""{"delayMs": 5}""", "missing \"mode\"; expected one of")]
    [InlineData("""{"mode": "slow", "delayMs": -1}""", "delayMs must be between 0 and")]
    [InlineData("""not json""", "expected a JSON body like")]
    [InlineData("", "expected a JSON body like")]
    public async Task BadFaultRequests_Return400WithAClearMessage_AndKeepTheCurrentMode(string json, string message)
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await upstream.SetFaultAsync("""{"mode": "slow", "delayMs": 10}""");

        using var response = await upstream.PostJsonAsync("faults", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(message, doc.RootElement.GetProperty("error").GetString());
        Assert.Equal("""{"mode":"slow","delayMs":10}""", await upstream.GetStringAsync("faults"));
    }
}
