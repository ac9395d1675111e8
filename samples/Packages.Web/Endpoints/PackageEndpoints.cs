using System.Globalization;
using System.Text;
using Packages.Web.Caching;
using Packages.Web.Html;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>The home page (search and popular packages), each package's overview, and their JSON.</summary>
internal static class PackageEndpoints
{
    /// <summary>What the home page shows before anyone searches: the packages the seed story was about, kernel first.</summary>
    public static readonly IReadOnlyList<string> Popular = ["kernel", "firefox", "glibc", "python3", "systemd", "gcc", "bash", "gnome-shell"];

    public static IEndpointRouteBuilder MapPackages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", GetHomeAsync);
        app.MapGet("/api/packages", SearchAsync);
        app.MapGet("/packages/{name}", GetOverviewAsync);
        app.MapGet("/api/packages/{name}", GetInfoJsonAsync);
        return app;
    }

    private static Task<(Served<PackageIndex> Served, LookupFailure? Failure)> PackagesAsync(HttpContext context, PackageCache cache, TimeProvider time) =>
        Lookup.RunAsync(CacheSetup.PackagesRegion, "all", "the package list", cache.GetPackagesAsync, cache, time, context.RequestAborted);

    private static Task<(Served<PackageInfo> Served, LookupFailure? Failure)> InfoAsync(string name, HttpContext context, PackageCache cache, TimeProvider time) =>
        Lookup.RunAsync(CacheSetup.InfoRegion, name, $"the overview of '{name}'", ct => cache.GetInfoAsync(name, ct), cache, time, context.RequestAborted);

    private static async Task<IResult> GetHomeAsync(string? search, HttpContext context, PackageCache cache, TimeProvider time)
    {
        search = search?.Trim() ?? "";
        if (!PackageName.IsValidSearch(search))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid search", "Search text is at most 100 characters, without control characters.");
        }

        var (served, failure) = await PackagesAsync(context, cache, time);
        Lookup.WriteHeaders(context.Response, served, failure);
        if (failure is not null)
        {
            return Page.Error(failure.Status, failure.Title, failure.Message);
        }

        var index = served.Value;
        var names = index.Search(search);
        var body = new StringBuilder(2048 + (names.Count * 80));
        body.Append("<form class=\"search\" method=\"get\" action=\"/\"><input type=\"search\" name=\"search\" placeholder=\"Search packages, e.g. python3-\" aria-label=\"Search packages\" value=\"")
            .Append(Page.E(search))
            .Append("\" autofocus> <button type=\"submit\">Search</button></form>\n")
            .Append(Page.Badges(served.Badge));
        if (search.Length == 0)
        {
            body.Append("<h2>Popular packages</h2>\n<div class=\"cards\">\n");
            foreach (var name in Popular.Where(n => index.Names.Contains(n)))
            {
                body.Append("<div class=\"card\"><a href=\"/packages/").Append(Page.U(name)).Append("\">").Append(Page.E(name)).Append("</a>")
                    .Append("<p><a href=\"/packages/").Append(Page.U(name)).Append("/bugs\">open bugs</a></p></div>\n");
            }

            body.Append("</div>\n<h2>All packages</h2>\n");
        }

        body.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{names.Count} of {index.Names.Count} packages")
            .Append(search.Length > 0 ? $" matching &quot;{Page.E(search)}&quot;" : "")
            .Append(". Each overview and bug list comes from a slow bug tracker, through a Dogpile cache.</p>\n<ul class=\"packages\">\n");
        foreach (var name in names)
        {
            body.Append("<li><a href=\"/packages/").Append(Page.U(name)).Append("\">").Append(Page.E(name)).Append("</a></li>\n");
        }

        body.Append("</ul>");
        return Page.Render(search.Length > 0 ? $"Packages matching {search}" : "Fedora Packages", body.ToString());
    }

    private static async Task<IResult> SearchAsync(string? search, HttpContext context, PackageCache cache, TimeProvider time)
    {
        search = search?.Trim() ?? "";
        if (!PackageName.IsValidSearch(search))
        {
            return BugEndpoints.ApiError(StatusCodes.Status400BadRequest, "search text is at most 100 characters, without control characters");
        }

        var (served, failure) = await PackagesAsync(context, cache, time);
        Lookup.WriteHeaders(context.Response, served, failure);
        return failure is not null
            ? BugEndpoints.ApiError(failure.Status, failure.Message)
            : Results.Json(new PackagesResponse(served.Value.Search(search)));
    }

    private static async Task<IResult> GetOverviewAsync(string name, HttpContext context, PackageCache cache, TimeProvider time)
    {
        if (!PackageName.IsValid(name))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid package name", $"That is not a package name: {PackageName.Rule}.");
        }

        // Both regions at once: a cold overview costs the slower of the two calls, not their sum.
        var infoTask = InfoAsync(name, context, cache, time);
        var bugsTask = BugEndpoints.BugsAsync(name, context, cache, time);
        var (info, infoFailure) = await infoTask;
        var (bugs, bugsFailure) = await bugsTask;
        Lookup.WriteHeaders(context.Response, info, infoFailure);
        if ((infoFailure ?? bugsFailure) is { } failure)
        {
            return Page.Error(failure.Status, failure.Title, failure.Message);
        }

        if (!info.Value.Exists || !bugs.Value.Exists)
        {
            return Page.Error(StatusCodes.Status404NotFound, "No such package", $"The bug tracker knows no package named '{name}'.");
        }

        var p = info.Value;
        var list = bugs.Value.Bugs;
        var open = list.Count(b => BugStatus.IsOpen(b.Status));
        var u = Page.U(name);
        var body = new StringBuilder(4096);
        body.Append("<p class=\"lead\">").Append(Page.E(p.Summary)).Append("</p>\n")
            .Append(Page.Badges(info.Badge, bugs.Badge))
            .Append("<div class=\"card\"><p>").Append(Page.E(p.Description)).Append("</p>\n<table class=\"kv\">\n")
            .Append("<tr><th>Version</th><td>").Append(Page.E(p.Version)).Append("</td></tr>\n")
            .Append("<tr><th>License</th><td>").Append(Page.E(p.License)).Append("</td></tr>\n")
            .Append("<tr><th>Maintainer</th><td>").Append(Page.E(p.Maintainer)).Append("</td></tr>\n")
            .Append("<tr><th>Upstream</th><td><a rel=\"nofollow\" href=\"").Append(Page.E(SafeLink(p.Homepage))).Append("\">").Append(Page.E(p.Homepage)).Append("</a></td></tr>\n")
            .Append("</table></div>\n<h2>Bugs</h2>\n<div class=\"card\">\n<p class=\"bug-totals\">")
            .Append(CultureInfo.InvariantCulture, $"<a href=\"/packages/{u}/bugs?status=open\"><strong>{open}</strong> open</a> · ")
            .Append(CultureInfo.InvariantCulture, $"<a href=\"/packages/{u}/bugs?status=closed\"><strong>{list.Count - open}</strong> closed</a> · ")
            .Append(CultureInfo.InvariantCulture, $"<a href=\"/packages/{u}/bugs?status=all\"><strong>{list.Count}</strong> in all</a></p>\n")
            .Append("<table class=\"bug-counts\"><thead><tr><th>Status</th><th>Bugs</th></tr></thead><tbody>\n");
        foreach (var status in BugStatus.All)
        {
            var count = list.Count(b => b.Status == status);
            var kind = BugStatus.IsOpen(status) ? "open" : "closed";
            body.Append(CultureInfo.InvariantCulture, $"<tr><td><span class=\"status status-{kind}\">{Page.E(status)}</span></td><td>{count}</td></tr>\n");
        }

        body.Append("</tbody></table></div>\n<h2>Links</h2>\n<ul>\n")
            .Append(CultureInfo.InvariantCulture, $"<li><a href=\"/packages/{u}/bugs\">Open bugs</a></li>\n")
            .Append(CultureInfo.InvariantCulture, $"<li><a href=\"/api/packages/{u}\">Overview as JSON</a> · <a href=\"/api/packages/{u}/bugs\">Bugs as JSON</a></li>\n")
            .Append("</ul>");
        return Page.Render(name, body.ToString());
    }

    private static async Task<IResult> GetInfoJsonAsync(string name, HttpContext context, PackageCache cache, TimeProvider time)
    {
        if (!PackageName.IsValid(name))
        {
            return BugEndpoints.ApiError(StatusCodes.Status400BadRequest, $"invalid package name: {PackageName.Rule}");
        }

        var (info, failure) = await InfoAsync(name, context, cache, time);
        Lookup.WriteHeaders(context.Response, info, failure);
        if (failure is not null)
        {
            return BugEndpoints.ApiError(failure.Status, failure.Message);
        }

        var p = info.Value;
        return p.Exists
            ? Results.Json(new InfoResponse(p.Name, p.Summary, p.Description, p.Homepage, p.License, p.Maintainer, p.Version))
            : BugEndpoints.ApiError(StatusCodes.Status404NotFound, $"no package named '{name}'");
    }

    /// <summary>Only http(s) links from the tracker become hrefs; anything else (javascript:, data:) is dropped.</summary>
    private static string SafeLink(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) ? uri.AbsoluteUri : "#";
}

/// <summary><c>{"packages": [...]}</c>, as the tracker answers.</summary>
internal sealed record PackagesResponse(IReadOnlyList<string> Packages);

/// <summary>A package's overview as the API answers it.</summary>
internal sealed record InfoResponse(string Name, string Summary, string Description, string Homepage, string License, string Maintainer, string Version);
