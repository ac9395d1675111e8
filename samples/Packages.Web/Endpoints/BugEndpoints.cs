using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Dogpile;
using Packages.Web.Caching;
using Packages.Web.Html;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>A package's bugs, as a page and as the tracker's JSON, served through the bugs region.</summary>
internal static class BugEndpoints
{
    private const string JsonContentType = "application/json; charset=utf-8";

    public static IEndpointRouteBuilder MapBugs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/packages/{name}/bugs", GetPageAsync);
        app.MapGet("/api/packages/{name}/bugs", GetJsonAsync);
        return app;
    }

    private static async Task<IResult> GetPageAsync(string name, HttpContext context, PackageCache cache)
    {
        if (!PackageName.IsValid(name))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid package name", $"That is not a package name: {PackageName.Rule}.");
        }

        var (item, error) = await LookUpAsync(name, context, cache);
        if (error is not null)
        {
            return Page.Error(error.Value.Status, error.Value.Title, error.Value.Message);
        }

        var bugs = item.Value;
        if (!bugs.Exists)
        {
            return Page.Error(StatusCodes.Status404NotFound, "No such package", $"The bug tracker knows no package named '{name}'.");
        }

        // Only the line above the table changes per request; the table (kernel's is ~200 KB) is rendered once per
        // cached value and written as is, so a hit allocates no page-sized buffers.
        string meta = string.Create(
            CultureInfo.InvariantCulture,
            $"<p class=\"meta\">{bugs.Bugs.Count} open bugs. Served from the cache: {CacheHeaders.Name(item.Source)}, {(long)item.Age.TotalSeconds} s old. <a href=\"/api/packages/{Page.U(name)}/bugs\">JSON</a></p>\n");
        return Page.Render($"Bugs of {name}", meta, s_tables.GetValue(bugs, RenderTable));
    }

    private static readonly ConditionalWeakTable<BugList, byte[]> s_tables = [];

    private static byte[] RenderTable(BugList bugs)
    {
        var table = new StringBuilder(128 + (bugs.Bugs.Count * 160));
        table.Append("<table>\n<thead><tr><th>Bug</th><th>Status</th><th>Summary</th></tr></thead>\n<tbody>\n");
        foreach (var bug in bugs.Bugs)
        {
            table.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"https://bugzilla.redhat.com/show_bug.cgi?id={bug.Id}\">{bug.Id}</a></td>")
                .Append("<td>").Append(Page.E(bug.Status)).Append("</td><td>").Append(Page.E(bug.Summary)).Append("</td></tr>\n");
        }

        table.Append("</tbody>\n</table>");
        return Encoding.UTF8.GetBytes(table.ToString());
    }

    private static async Task<IResult> GetJsonAsync(string name, HttpContext context, PackageCache cache)
    {
        if (!PackageName.IsValid(name))
        {
            return ApiError(StatusCodes.Status400BadRequest, $"invalid package name: {PackageName.Rule}");
        }

        var (item, error) = await LookUpAsync(name, context, cache);
        if (error is not null)
        {
            return ApiError(error.Value.Status, error.Value.Message);
        }

        return item.Value.Exists
            ? Results.Bytes(item.Value.ToResponseJson(), JsonContentType)
            : ApiError(StatusCodes.Status404NotFound, $"no package named '{name}'");
    }

    /// <summary>The cached bug list with the cache headers set, or the error to answer with when there is none.</summary>
    private static async Task<(CacheItem<BugList> Item, Failure? Error)> LookUpAsync(string name, HttpContext context, PackageCache cache)
    {
        try
        {
            var item = await cache.GetBugsAsync(name, context.RequestAborted);
            CacheHeaders.Set(context.Response, item);
            return (item, null);
        }
        catch (UpstreamException ex)
        {
            // Reached only when nothing is cached: with a stale value the region serves it and the refresh fails quietly.
            CacheHeaders.SetMiss(context.Response);
            return (default, new Failure(StatusCodes.Status502BadGateway, "Bug tracker unavailable",
                $"The bug tracker failed and no copy of the bugs of '{name}' is cached yet: {ex.Message}. Try again later."));
        }
        catch (CacheLockTimeoutException)
        {
            CacheHeaders.SetMiss(context.Response);
            return (default, new Failure(StatusCodes.Status504GatewayTimeout, "Bug tracker too slow",
                $"The bugs of '{name}' are still being fetched from the bug tracker. Try again in a moment."));
        }
    }

    internal static IResult ApiError(int statusCode, string message) => Results.Json(new ErrorResponse(message), statusCode: statusCode);

    private readonly record struct Failure(int Status, string Title, string Message);
}

/// <summary><c>{"error": "..."}</c>, as the tracker and pkgwat spell errors.</summary>
internal sealed record ErrorResponse(string Error);
