using System.Net;
using System.Text;

namespace Packages.Web.Html;

/// <summary>
/// The app's HTML, written by hand: every value that did not come from this file goes through <see cref="E"/>
/// (HTML-encoding) or <see cref="U"/> (a URL path segment, then encoded), so nothing a user or the tracker sent
/// is ever reflected raw. No CDN, no client-side library: the style sheet is inline and charts are server-side SVG.
/// </summary>
internal static class Page
{
    public const string ContentType = "text/html; charset=utf-8";

    // Fedora Packages' look: a blue bar, white cards, a sans-serif body. The badge colours carry the cache state.
    private const string Style =
        "*{box-sizing:border-box}body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f6f9;color:#222}"
        + "header{background:#294172;color:#fff;padding:.6em 0}header .wrap{display:flex;align-items:center;gap:1.5em}"
        + "header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:1.25em}header .brand span{color:#8fb6f0;font-weight:400}"
        + "header nav a{margin-right:1em;opacity:.9}header nav a:hover{opacity:1;text-decoration:underline}"
        + ".wrap{max-width:72em;margin:0 auto;padding:0 1em}main{padding:1em 0 3em}"
        + "h1{font-size:1.7em;margin:.4em 0}h2{font-size:1.2em;margin:1.2em 0 .5em}a{color:#3c6eb4}"
        + ".card{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:1em 1.2em;margin:.8em 0}"
        + ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:.8em}.cards .card{margin:0}"
        + ".cards .card a{font-weight:600;font-size:1.05em}.cards .card p{margin:.3em 0 0;color:#555;font-size:.9em}"
        + "table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #e3e7ec;padding:.35em .6em;text-align:left;vertical-align:top}"
        + "th{background:#f0f3f7}table.kv th{width:12em}"
        + "ul.packages{columns:4;padding-left:1.2em}.meta{color:#555}.error{color:#a00}"
        + "form.search{display:flex;gap:.5em;margin:1em 0}form.search input{flex:1;font-size:1.1em;padding:.45em .6em;border:1px solid #b8c2cf;border-radius:4px}"
        + "form.search button,button{font-size:1em;padding:.45em 1em;border:0;border-radius:4px;background:#3c6eb4;color:#fff;cursor:pointer}"
        + ".tabs{display:flex;gap:.4em;margin:.8em 0}.tabs a{padding:.35em .9em;border-radius:4px;background:#e6ebf2;text-decoration:none;color:#294172}"
        + ".tabs a.active{background:#3c6eb4;color:#fff}.pager{display:flex;gap:1em;align-items:center;margin:.8em 0}"
        + ".status{font-family:ui-monospace,monospace;font-size:.85em;padding:.1em .4em;border-radius:3px;background:#e6ebf2}"
        + ".status-open{background:#fde9c8}.status-closed{background:#d9eed9}"
        + ".badges{margin:.5em 0}.badge{border-radius:6px;padding:.45em .8em;margin:.3em 0;border:1px solid;font-size:.92em}"
        + ".badge-label{font-weight:700;text-transform:uppercase;font-size:.8em;letter-spacing:.04em;margin-right:.4em}"
        + ".badge-region{float:right;opacity:.6;font-size:.85em}"
        + ".badge-fresh{background:#e5f5e5;border-color:#7cc47c;color:#1f5f1f}"
        + ".badge-stale{background:#fff6d6;border-color:#e0c050;color:#6b5500}"
        + ".badge-miss{background:#e6eefb;border-color:#7ea4dd;color:#1c3f78}"
        + ".badge-stale-if-error{background:#fde4e1;border-color:#e08a80;color:#8a1f12}"
        + ".badge-degraded{background:#f1e4fb;border-color:#b48ad8;color:#4d2378}"
        + ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(22em,1fr));gap:.8em}.charts .card{margin:0}"
        + ".legend span{margin-right:1em;font-size:.85em}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}"
        + "footer{color:#777;font-size:.85em;padding:1em 0 2em;border-top:1px solid #dde3ea}";

    /// <summary>HTML-encodes text for an element body or a quoted attribute.</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>Encodes a value as one URL path segment, for an href.</summary>
    public static string U(string segment) => E(Uri.EscapeDataString(segment));

    /// <summary>A complete page around <paramref name="bodyHtml"/>, which must already be safe HTML.</summary>
    public static IResult Render(string title, string bodyHtml, int statusCode = StatusCodes.Status200OK)
        => new PageResult(Head(title) + bodyHtml + Tail, statusCode);

    private static string Head(string title) =>
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>"
        + E(title) + " - Fedora Packages (Dogpile demo)</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>" + Style + "</style>\n</head>\n<body>\n"
        + "<header><div class=\"wrap\"><a class=\"brand\" href=\"/\">Fedora Packages <span>with Dogpile</span></a>"
        + "<nav><a href=\"/\">Packages</a><a href=\"/status\">Status</a><a href=\"/metrics\">Metrics</a></nav></div></header>\n"
        + "<main class=\"wrap\">\n<h1>" + E(title) + "</h1>\n";

    private const string Tail =
        "\n</main>\n<footer><div class=\"wrap\">Every page is served through a Dogpile cache in front of a slow bug tracker simulator. "
        + "The badges say how each value was served.</div></footer>\n</body>\n</html>\n";

    private sealed class PageResult(string html, int statusCode) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(html);
            HttpResponse response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = ContentType;
            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, httpContext.RequestAborted);
        }
    }

    /// <summary>An error page; <paramref name="message"/> is plain text and gets encoded.</summary>
    public static IResult Error(int statusCode, string title, string message) =>
        Render(title, $"<p class=\"error\">{E(message)}</p>\n<p><a href=\"/\">Back to the package list</a></p>", statusCode);

    /// <summary>The badges of the values a page shows, in one block.</summary>
    public static string Badges(params CacheBadge[] badges) =>
        "<div class=\"badges\">\n" + string.Concat(badges.Select(b => b.ToHtml())) + "</div>\n";
}
