using System.Globalization;
using System.Text;
using Packages.Web.Caching;
using Packages.Web.Html;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>A package's bugs (paged, filtered by status) and single bugs, as pages and as JSON, through the bugs and bug regions.</summary>
internal static class BugEndpoints
{
    /// <summary>Rows per page of the bug list.</summary>
    public const int PageSize = 50;

    /// <summary>Most rows one API page may ask for.</summary>
    public const int MaxLimit = 1000;

    private const string JsonContentType = "application/json; charset=utf-8";

    public static IEndpointRouteBuilder MapBugs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/packages/{name}/bugs", GetPageAsync);
        app.MapGet("/api/packages/{name}/bugs", GetJsonAsync);
        app.MapGet("/bugs/{id}", GetBugPageAsync);
        app.MapGet("/api/bugs/{id}", GetBugJsonAsync);
        return app;
    }

    internal static Task<(Served<BugList> Served, LookupFailure? Failure)> BugsAsync(string name, HttpContext context, PackageCache cache, TimeProvider time) =>
        Lookup.RunAsync(CacheSetup.BugsRegion, name, $"the bugs of '{name}'", ct => cache.GetBugsAsync(name, ct), cache, time, context.RequestAborted);

    private static async Task<IResult> GetPageAsync(string name, string? status, string? page, HttpContext context, PackageCache cache, TimeProvider time)
    {
        if (!PackageName.IsValid(name))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid package name", $"That is not a package name: {PackageName.Rule}.");
        }

        if (!TryParseQuery(status, page, null, PageSize, out var query, out var invalid))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid query", invalid);
        }

        var (served, failure) = await BugsAsync(name, context, cache, time);
        Lookup.WriteHeaders(context.Response, served, failure);
        if (failure is not null)
        {
            return Page.Error(failure.Status, failure.Title, failure.Message);
        }

        var bugs = served.Value;
        if (!bugs.Exists)
        {
            return Page.Error(StatusCodes.Status404NotFound, "No such package", $"The bug tracker knows no package named '{name}'.");
        }

        var view = BugView.Of(bugs, query);
        var u = Page.U(name);
        var body = new StringBuilder(2048 + (view.Rows.Count * 200));
        body.Append(Page.Badges(served.Badge)).Append("<nav class=\"tabs\">");
        foreach (var filter in BugStatus.Filters)
        {
            body.Append(CultureInfo.InvariantCulture, $"<a href=\"/packages/{u}/bugs?status={filter}\"{(filter == query.Status ? " class=\"active\"" : "")}>{char.ToUpperInvariant(filter[0])}{filter[1..]} ({view.Counts[filter]})</a>");
        }

        body.Append(CultureInfo.InvariantCulture, $"</nav>\n<p class=\"meta\"><span class=\"bug-count\">{view.Total} {(query.Status == "all" ? "" : query.Status + " ")}bugs</span>")
            .Append(view.Total == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", {view.First}–{view.Last} shown"))
            .Append(CultureInfo.InvariantCulture, $". <a href=\"/packages/{u}\">Overview of {Page.E(name)}</a> · <a href=\"/api/packages/{u}/bugs?status={query.Status}&amp;page={query.Page}&amp;limit={PageSize}\">JSON</a></p>\n");
        body.Append("<table class=\"bugs\">\n<thead><tr><th>Bug</th><th>Status</th><th>Summary</th></tr></thead>\n<tbody>\n");
        foreach (var bug in view.Rows)
        {
            var kind = BugStatus.IsOpen(bug.Status) ? "open" : "closed";
            body.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/bugs/{bug.Id}\">{bug.Id}</a></td>")
                .Append("<td><span class=\"status status-").Append(kind).Append("\">").Append(Page.E(bug.Status)).Append("</span></td><td>").Append(Page.E(bug.Summary)).Append("</td></tr>\n");
        }

        body.Append("</tbody>\n</table>\n<div class=\"pager\">");
        string Link(int target) => $"/packages/{u}/bugs?status={query.Status}&amp;page={target}";
        body.Append(query.Page > 1 ? $"<a rel=\"prev\" href=\"{Link(query.Page - 1)}\">← Previous</a>" : "<span></span>")
            .Append(CultureInfo.InvariantCulture, $"<span class=\"page-of\">Page {query.Page} of {view.Pages}</span>")
            .Append(query.Page < view.Pages ? $"<a rel=\"next\" href=\"{Link(query.Page + 1)}\">Next →</a>" : "")
            .Append("</div>");
        return Page.Render($"Bugs of {name}", body.ToString());
    }

    private static async Task<IResult> GetJsonAsync(string name, string? status, string? page, string? limit, HttpContext context, PackageCache cache, TimeProvider time)
    {
        if (!PackageName.IsValid(name))
        {
            return ApiError(StatusCodes.Status400BadRequest, $"invalid package name: {PackageName.Rule}");
        }

        var paged = status is not null || page is not null || limit is not null;
        if (!TryParseQuery(status ?? "all", page, limit, MaxLimit, out var query, out var invalid))
        {
            return ApiError(StatusCodes.Status400BadRequest, invalid);
        }

        var (served, failure) = await BugsAsync(name, context, cache, time);
        Lookup.WriteHeaders(context.Response, served, failure);
        if (failure is not null)
        {
            return ApiError(failure.Status, failure.Message);
        }

        if (!served.Value.Exists)
        {
            return ApiError(StatusCodes.Status404NotFound, $"no package named '{name}'");
        }

        if (!paged)
        {
            // The tracker's own shape, every bug: serialized once per cached value.
            return Results.Bytes(served.Value.ToResponseJson(), JsonContentType);
        }

        var view = BugView.Of(served.Value, query);
        return Results.Json(new BugPageResponse(name, query.Status, view.Total, query.Page, view.Pages, query.Limit, view.Counts, view.Rows));
    }

    private static Task<(Served<BugDetail> Served, LookupFailure? Failure)> BugAsync(long id, HttpContext context, PackageCache cache, TimeProvider time) =>
        Lookup.RunAsync(CacheSetup.BugRegion, id.ToString(CultureInfo.InvariantCulture), $"bug {id}", ct => cache.GetBugAsync(id, ct), cache, time, context.RequestAborted);

    private static async Task<IResult> GetBugPageAsync(string id, HttpContext context, PackageCache cache, TimeProvider time, UpstreamLocation upstream)
    {
        if (!TryParseId(id, out var number))
        {
            return Page.Error(StatusCodes.Status400BadRequest, "Invalid bug id", "A bug id is a positive number.");
        }

        var (served, failure) = await BugAsync(number, context, cache, time);
        Lookup.WriteHeaders(context.Response, served, failure);
        if (failure is not null)
        {
            return Page.Error(failure.Status, failure.Title, failure.Message);
        }

        var bug = served.Value;
        if (!bug.Exists)
        {
            return Page.Error(StatusCodes.Status404NotFound, "No such bug", $"The bug tracker knows no bug {number}.");
        }

        var kind = BugStatus.IsOpen(bug.Status) ? "open" : "closed";
        var tracker = upstream.Address is { } address ? new Uri(address, $"show_bug/{number}").AbsoluteUri : null;
        var body = new StringBuilder(1024)
            .Append(Page.Badges(served.Badge))
            .Append("<div class=\"card\"><table class=\"kv\">\n")
            .Append("<tr><th>Summary</th><td>").Append(Page.E(bug.Summary)).Append("</td></tr>\n")
            .Append("<tr><th>Package</th><td><a href=\"/packages/").Append(Page.U(bug.Package)).Append("\">").Append(Page.E(bug.Package)).Append("</a></td></tr>\n")
            .Append("<tr><th>Status</th><td><span class=\"status status-").Append(kind).Append("\">").Append(Page.E(bug.Status)).Append("</span></td></tr>\n")
            .Append("<tr><th>Reported</th><td>").Append(Page.E(bug.Reported)).Append("</td></tr>\n</table></div>\n<p>")
            .Append(tracker is null ? "" : $"<a class=\"tracker-link\" href=\"{Page.E(tracker)}\">This bug on the tracker (simulator)</a> · ")
            .Append("<a href=\"/packages/").Append(Page.U(bug.Package)).Append("/bugs\">All open bugs of ").Append(Page.E(bug.Package)).Append("</a> · ")
            .Append(CultureInfo.InvariantCulture, $"<a href=\"/api/bugs/{number}\">JSON</a></p>");
        return Page.Render($"Bug {number}", body.ToString());
    }

    private static async Task<IResult> GetBugJsonAsync(string id, HttpContext context, PackageCache cache, TimeProvider time)
    {
        if (!TryParseId(id, out var number))
        {
            return ApiError(StatusCodes.Status400BadRequest, "a bug id is a positive number");
        }

        var (served, failure) = await BugAsync(number, context, cache, time);
        Lookup.WriteHeaders(context.Response, served, failure);
        if (failure is not null)
        {
            return ApiError(failure.Status, failure.Message);
        }

        var bug = served.Value;
        return bug.Exists
            ? Results.Json(new BugResponse(bug.Id, bug.Package, bug.Summary, bug.Status, bug.Reported))
            : ApiError(StatusCodes.Status404NotFound, $"no bug {number}");
    }

    private static bool TryParseId(string text, out long id) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id is > 0 and <= int.MaxValue;

    private static bool TryParseQuery(string? status, string? page, string? limit, int defaultLimit, out BugQuery query, out string error)
    {
        query = default;
        error = "";
        status = string.IsNullOrEmpty(status) ? "open" : status.ToLowerInvariant();
        if (!BugStatus.Filters.Contains(status))
        {
            error = "status is one of: open, closed, all";
            return false;
        }

        var pageNumber = 1;
        if (page is not null && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out pageNumber) || pageNumber < 1))
        {
            error = "page is a number from 1";
            return false;
        }

        var rows = defaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out rows) || rows is < 1 or > MaxLimit))
        {
            error = $"limit is a number from 1 to {MaxLimit}";
            return false;
        }

        query = new BugQuery(status, pageNumber, rows);
        return true;
    }

    internal static IResult ApiError(int statusCode, string message) => Results.Json(new ErrorResponse(message), statusCode: statusCode);

    private readonly record struct BugQuery(string Status, int Page, int Limit);

    /// <summary>One page of a filtered bug list, with the counts of every filter.</summary>
    private sealed record BugView(IReadOnlyList<Bug> Rows, int Total, int Pages, int First, int Last, IReadOnlyDictionary<string, int> Counts)
    {
        public static BugView Of(BugList bugs, BugQuery query)
        {
            var open = bugs.Bugs.Count(b => BugStatus.IsOpen(b.Status));
            var counts = new Dictionary<string, int> { ["open"] = open, ["closed"] = bugs.Bugs.Count - open, ["all"] = bugs.Bugs.Count };
            var matching = bugs.Bugs.Where(b => BugStatus.Matches(query.Status, b.Status)).ToList();
            var pages = Math.Max(1, (matching.Count + query.Limit - 1) / query.Limit);
            var skip = (long)(query.Page - 1) * query.Limit;
            var rows = skip >= matching.Count ? [] : matching.GetRange((int)skip, Math.Min(query.Limit, matching.Count - (int)skip));
            return new BugView(rows, matching.Count, pages, (int)skip + 1, (int)skip + rows.Count, counts);
        }
    }
}

/// <summary><c>{"error": "..."}</c>, as the tracker and pkgwat spell errors.</summary>
internal sealed record ErrorResponse(string Error);

/// <summary>One page of a package's bugs, filtered by status, with the counts of every filter.</summary>
internal sealed record BugPageResponse(string Package, string Status, int Total, int Page, int Pages, int Limit, IReadOnlyDictionary<string, int> Counts, IReadOnlyList<Bug> Bugs);

/// <summary>One bug as the API answers it.</summary>
internal sealed record BugResponse(long Id, string Package, string Summary, string Status, string Reported);
