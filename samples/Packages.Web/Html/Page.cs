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
    {
        var html = new StringBuilder(bodyHtml.Length + 1024)
            .Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(E(title))
            .Append(" - Fedora Packages (Dogpile demo)</title>\n<style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em}")
            .Append("table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}")
            .Append("ul.packages{columns:4}.meta{color:#555}.error{color:#a00}")
            .Append("</style>\n</head>\n<body>\n<nav><a href=\"/\">Packages</a> | <a href=\"/status\">Status</a> | <a href=\"/metrics\">Metrics</a></nav>\n<h1>")
            .Append(E(title))
            .Append("</h1>\n")
            .Append(bodyHtml)
            .Append("\n</body>\n</html>\n");
        return Results.Content(html.ToString(), ContentType, Encoding.UTF8, statusCode);
    }

    /// <summary>An error page; <paramref name="message"/> is plain text and gets encoded.</summary>
    public static IResult Error(int statusCode, string title, string message) =>
        Render(title, $"<p class=\"error\">{E(message)}</p>\n<p><a href=\"/\">Back to the package list</a></p>", statusCode);
}
