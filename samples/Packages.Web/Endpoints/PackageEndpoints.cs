using System.Globalization;
using System.Text;
using Packages.Web.Caching;
using Packages.Web.Html;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>The home page (search form and package list) and the search API, served from the cached package list.</summary>
internal static class PackageEndpoints
{
    public static IEndpointRouteBuilder MapPackages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", GetHomeAsync);
        app.MapGet("/api/packages", SearchAsync);
        return app;
    }

    private static async Task<IResult> GetHomeAsync(string? search, HttpContext context, PackageCache cache)
    {
        search = search?.Trim() ?? "";
        if (!PackageName.IsValidSearch(search))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid search", "Search text is at most 100 characters, without control characters.");
        }

        PackageIndex index;
        try
        {
            var item = await cache.GetPackagesAsync(context.RequestAborted);
            CacheHeaders.Set(context.Response, item);
            index = item.Value;
        }
        catch (UpstreamException ex)
        {
            return Page.Error(StatusCodes.Status502BadGateway, "Bug tracker unavailable", $"The package list could not be fetched and none is cached yet: {ex.Message}.");
        }

        var names = index.Search(search);
        var body = new StringBuilder(1024 + (names.Count * 80));
        body.Append("<form method=\"get\" action=\"/\"><input type=\"search\" name=\"search\" placeholder=\"Search packages\" value=\"")
            .Append(Page.E(search))
            .Append("\" autofocus> <button type=\"submit\">Search</button></form>\n");
        body.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{names.Count} of {index.Names.Count} packages")
            .Append(search.Length > 0 ? $" matching &quot;{Page.E(search)}&quot;" : "")
            .Append(". Each bug list comes from a slow bug tracker, through a Dogpile cache.</p>\n<ul class=\"packages\">\n");
        foreach (var name in names)
        {
            body.Append("<li><a href=\"/packages/").Append(Page.U(name)).Append("/bugs\">").Append(Page.E(name)).Append("</a></li>\n");
        }

        body.Append("</ul>");
        return Page.Render("Fedora Packages", body.ToString());
    }

    private static async Task<IResult> SearchAsync(string? search, HttpContext context, PackageCache cache)
    {
        search = search?.Trim() ?? "";
        if (!PackageName.IsValidSearch(search))
        {
            return BugEndpoints.ApiError(StatusCodes.Status400BadRequest, "search text is at most 100 characters, without control characters");
        }

        try
        {
            var item = await cache.GetPackagesAsync(context.RequestAborted);
            CacheHeaders.Set(context.Response, item);
            return Results.Json(new PackagesResponse(item.Value.Search(search)));
        }
        catch (UpstreamException ex)
        {
            return BugEndpoints.ApiError(StatusCodes.Status502BadGateway, $"the package list could not be fetched and none is cached yet: {ex.Message}");
        }
    }
}

/// <summary><c>{"packages": [...]}</c>, as the tracker answers.</summary>
internal sealed record PackagesResponse(IReadOnlyList<string> Packages);
