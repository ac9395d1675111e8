using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dogpile.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Packages.Web.Endpoints;

namespace Packages.Tests.Web;

/// <summary>How the app answers what is not a plain successful GET: failures, HEAD, other methods. Raw HTTP over loopback.</summary>
public sealed class ErrorResponseTests
{
    public static TheoryData<string> Routes => new()
    {
        "/", "/?search=kern", "/packages/kernel", "/api/packages/kernel", "/packages/kernel/bugs", "/packages/kernel/bugs?status=closed&page=2", "/api/packages/kernel/bugs", "/api/packages?search=kern", "/metrics", "/status", "/healthz",
    };

    [Theory]
    [InlineData("redis")]
    [InlineData("memcached")]
    public async Task ColdRequests_WithTheBackendDown_ThrowPolicy_Are503NamingIt_AsJsonAndPages(string backend)
    {
        await using var server = backend == "redis" ? ServerProcess.Redis() : ServerProcess.Memcached();
        await server.StartAsync();
        await using var web = await WebAppHarness.StartAsync(0, 300, "--Cache:Backend", backend, "--Cache:Connection", server.Endpoint, "--Cache:FailurePolicy", "throw");
        Assert.Equal(HttpStatusCode.OK, (await web.GetReplyAsync("api/packages/kernel/bugs")).Status);
        server.Kill();
        var expected = $"The cache backend ({backend} at {server.Endpoint}) is unavailable: ";

        var api = await web.GetReplyAsync("api/packages/bash/bugs");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, api.Status);
        Assert.Equal("application/problem+json", api.ContentType);
        using (var json = JsonDocument.Parse(api.Body))
        {
            Assert.Equal(503, json.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("Cache unavailable", json.RootElement.GetProperty("title").GetString());
            Assert.StartsWith(expected, json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.StartsWith(expected, json.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        foreach (var path in new[] { "packages/bash/bugs", "" })
        {
            var page = await web.GetReplyAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, page.Status);
            Assert.StartsWith("text/html", page.ContentType, StringComparison.Ordinal);
            Assert.Contains("<h1>Cache unavailable</h1>", page.Body, StringComparison.Ordinal);
            Assert.Contains(WebUtility.HtmlEncode(expected), page.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", page.Body, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", api.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memcached")]
    public async Task ColdRequests_WithTheBackendDown_DefaultPolicy_Are200_MarkedDegraded(string backend)
    {
        await using var server = backend == "redis" ? ServerProcess.Redis() : ServerProcess.Memcached();
        await server.StartAsync();
        await using var web = await WebAppHarness.StartAsync(0, 300, "--Cache:Backend", backend, "--Cache:Connection", server.Endpoint);
        Assert.Equal(HttpStatusCode.OK, (await web.GetReplyAsync("api/packages/kernel/bugs")).Status);
        server.Kill();

        using var http = new HttpClient { BaseAddress = web.Address };
        using var api = await http.GetAsync(new Uri("api/packages/bash/bugs", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal("backend-unavailable", api.Headers.GetValues("X-Cache-Degraded").Single());
        Assert.Equal("degraded", api.Headers.GetValues("X-Cache-State").Single());

        foreach (var path in new[] { "packages/bash/bugs", "" })
        {
            var page = await web.GetReplyAsync(path);
            Assert.Equal(HttpStatusCode.OK, page.Status);
            Assert.StartsWith("text/html", page.ContentType, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Head_OnEveryRoute_AnswersLikeGet_WithoutABody(string path)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        var get = await RawHttp.SendAsync(web.Address, "GET", path);
        Assert.Equal(200, get.Status);

        var head = await RawHttp.SendAsync(web.Address, "HEAD", path);

        Assert.Equal(200, head.Status);
        Assert.Equal(get.Headers["content-type"], head.Headers["content-type"]);
        Assert.Empty(head.Body);
    }

    [Fact]
    public async Task Head_OnAnUnknownAddress_Is404WithoutABody()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var head = await RawHttp.SendAsync(web.Address, "HEAD", "/no/such/page");

        Assert.Equal(404, head.Status);
        Assert.Empty(head.Body);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task OtherMethods_OnAGetRoute_Are405WithAllow_AndSaySo(string path)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        foreach (var method in new[] { "POST", "PUT", "DELETE", "PATCH" })
        {
            var reply = await RawHttp.SendAsync(web.Address, method, path);

            Assert.Equal(405, reply.Status);
            Assert.Equal("GET, HEAD", reply.Headers["allow"]);
            var body = Encoding.UTF8.GetString(reply.Body);
            Assert.Contains("This address answers GET, HEAD only.", body, StringComparison.Ordinal);
            Assert.StartsWith(path.StartsWith("/api/", StringComparison.Ordinal) ? "application/problem+json" : "text/html", reply.Headers["content-type"], StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("GET", "/no/such/page", "text/html")]
    [InlineData("POST", "/no/such/page", "text/html")]
    [InlineData("DELETE", "/api/no-such-endpoint", "application/problem+json")]
    [InlineData("PUT", "/packages/kernel/sources", "text/html")]
    public async Task AnyMethod_OnAnUnknownAddress_Is404_AndSaysSo(string method, string path, string contentType)
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);

        var reply = await RawHttp.SendAsync(web.Address, method, path);

        Assert.Equal(404, reply.Status);
        Assert.StartsWith(contentType, reply.Headers["content-type"], StringComparison.Ordinal);
        Assert.Contains("There is no page at this address.", Encoding.UTF8.GetString(reply.Body), StringComparison.Ordinal);
    }

    /// <summary>
    /// No request makes the real app fail unexpectedly (that would be a bug to fix), so a minimal app with the same
    /// error middleware and endpoints that throw stands in: a 500 that says what happened, never the stack trace or
    /// the exception's text (which may hold hostile input or internals).
    /// </summary>
    [Theory]
    [InlineData("/boom", "text/html")]
    [InlineData("/api/boom", "application/problem+json")]
    public async Task UnexpectedException_Is500ThatSaysSo_WithoutStackTraceOrReflectedInput(string path, string contentType)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.UseErrorResponses();
        RequestDelegate boom = _ => throw new InvalidOperationException("<script>alert(1)</script> at /secret/path");
        app.MapGet("/boom", boom);
        app.MapGet("/api/boom", boom);
        await app.StartAsync();

        var reply = await RawHttp.SendAsync(new Uri(app.Urls.First()), "GET", path);

        Assert.Equal(500, reply.Status);
        Assert.StartsWith(contentType, reply.Headers["content-type"], StringComparison.Ordinal);
        var body = Encoding.UTF8.GetString(reply.Body);
        Assert.Contains("The app failed while answering this request (InvalidOperationException).", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        await app.StopAsync();
    }

    /// <summary>One request on its own connection, read to the end: shows exactly what the server sent, body bytes included.</summary>
    private static class RawHttp
    {
        public static async Task<RawReply> SendAsync(Uri address, string method, string path)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(address.Host, address.Port);
            var stream = client.GetStream();
            var contentLength = method is "POST" or "PUT" or "PATCH" ? "Content-Length: 0\r\n" : "";
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {address.Authority}\r\n{contentLength}Connection: close\r\n\r\n"));
            using var received = new MemoryStream();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await stream.CopyToAsync(received, timeout.Token);

            var bytes = received.ToArray();
            var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(end > 0, "The reply has no end of headers.");
            var lines = Encoding.ASCII.GetString(bytes, 0, end).Split("\r\n");
            var headers = lines.Skip(1)
                .Select(line => line.Split(':', 2))
                .ToDictionary(parts => parts[0].Trim().ToLowerInvariant(), parts => parts[1].Trim());
            var body = bytes[(end + 4)..];
            if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding == "chunked")
            {
                body = Unchunk(body);
            }

            return new RawReply(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers, body);
        }

        private static byte[] Unchunk(byte[] chunked)
        {
            using var body = new MemoryStream();
            var rest = chunked.AsSpan();
            while (true)
            {
                var lineEnd = rest.IndexOf("\r\n"u8);
                var size = Convert.ToInt32(Encoding.ASCII.GetString(rest[..lineEnd]).Split(';')[0], 16);
                if (size == 0)
                {
                    return body.ToArray();
                }

                body.Write(rest.Slice(lineEnd + 2, size));
                rest = rest[(lineEnd + 2 + size + 2)..];
            }
        }
    }

    private sealed record RawReply(int Status, Dictionary<string, string> Headers, byte[] Body);
}
