using System.Net;

namespace Packages.Tests.Web;

public sealed class InputTests
{
    public static TheoryData<string> BadNames => new()
    {
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%3Cscript%3Ealert(1)",
        "a%00b",
        "kernel%0D%0ASet-Cookie:x",
        "a%20b",
        "..%2F..%2Fetc%2Fpasswd",
        "caf%C3%A9",
        "%22onmouseover%3D%22alert(1)",
        new string('a', 101),
    };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task BadPackageName_Is400_AndNeverReflected(string encodedName)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        foreach (var path in new[] { $"api/packages/{encodedName}/bugs", $"packages/{encodedName}/bugs" })
        {
            var reply = await web.GetReplyAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
            Assert.DoesNotContain("<script", reply.Body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("alert(1)", reply.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("passwd", reply.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("Set-Cookie", reply.Body, StringComparison.Ordinal);
            Assert.Null(reply.Cache);
        }

        Assert.Equal(0, await web.MetricAsync("dogpile_misses_total")); // refused before the cache
    }

    [Fact]
    public async Task LongestValidName_IsAccepted()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await web.GetReplyAsync($"api/packages/{new string('a', 100)}/bugs");

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
    }

    [Fact]
    public async Task SearchText_IsEscapedOnTheHomePage()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await web.GetReplyAsync("?search=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.DoesNotContain("<script", reply.Body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;", reply.Body);
    }

    [Fact]
    public async Task SearchWithControlCharacters_Is400()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        Assert.Equal(HttpStatusCode.BadRequest, (await web.GetReplyAsync("api/packages?search=a%00b")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await web.GetReplyAsync("?search=a%0Ab")).Status);
    }
}
