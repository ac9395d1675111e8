using System.Net;
using System.Text;

namespace Packages.Web.Html;

/// <summary>
/// The app's HTML, written by hand: every value that did not come from this file goes through <see cref="E"/>
/// (HTML-encoding) or <see cref="U"/> (a URL path segment, then encoded), so nothing a user or the tracker sent
/// is ever reflected raw.
/// </summary>
internal static class Page
{
    public const string ContentType = "text/html; charset=utf-8";

    /// <summary>HTML-encodes text for an element body or a quoted attribute.</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>Encodes a value as one URL path segment, for an href.</summary>
    public static string U(string segment) => E(Uri.EscapeDataString(segment));

    /// <summary>A complete page around <paramref name="bodyHtml"/>, which must already be safe HTML.</summary>
    public static IResult Render(string title, string bodyHtml, int statusCode = StatusCodes.Status200OK)
        => new PageResult(Head(title) + bodyHtml, null, statusCode);

    /// <summary>
    /// A page whose body is <paramref name="bodyHtml"/> followed by <paramref name="cachedHtml"/> (UTF-8, already
    /// safe HTML), which is written as is: a large, shared fragment is never copied into a per-request buffer.
    /// </summary>
    public static IResult Render(string title, string bodyHtml, byte[] cachedHtml)
        => new PageResult(Head(title) + bodyHtml, cachedHtml, StatusCodes.Status200OK);

    private static string Head(string title) =>
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + E(title)
        + " - Fedora Packages (Dogpile demo)</title>\n<style>"
        + "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em}"
        + "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}"
        + "ul.packages{columns:4}.meta{color:#555}.error{color:#a00}"
        + "</style>\n</head>\n<body>\n<nav><a href=\"/\">Packages</a> | <a href=\"/status\">Status</a> | <a href=\"/metrics\">Metrics</a></nav>\n<h1>"
        + E(title) + "</h1>\n";

    private static readonly byte[] s_tail = Encoding.UTF8.GetBytes("\n</body>\n</html>\n");

    private sealed class PageResult(string head, byte[]? cached, int statusCode) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            byte[] headBytes = Encoding.UTF8.GetBytes(head);
            HttpResponse response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = ContentType;
            response.ContentLength = headBytes.Length + (cached?.Length ?? 0) + s_tail.Length;
            await response.Body.WriteAsync(headBytes, httpContext.RequestAborted);
            if (cached is not null)
            {
                await response.Body.WriteAsync(cached, httpContext.RequestAborted);
            }

            await response.Body.WriteAsync(s_tail, httpContext.RequestAborted);
        }
    }

    /// <summary>An error page; <paramref name="message"/> is plain text and gets encoded.</summary>
    public static IResult Error(int statusCode, string title, string message) =>
        Render(title, $"<p class=\"error\">{E(message)}</p>\n<p><a href=\"/\">Back to the package list</a></p>", statusCode);
}
