using System.Globalization;
using Dogpile;
using Packages.Web.Endpoints;

namespace Packages.Web.Html;

/// <summary>How one value on a page was served, in the five states a visitor can tell apart.</summary>
internal enum CacheState
{
    /// <summary>A fresh value from the cache.</summary>
    Fresh,

    /// <summary>An expired value served at once while one refresh runs in the background.</summary>
    Stale,

    /// <summary>Nothing usable was cached: this request waited for the tracker (its own call or another request's).</summary>
    Miss,

    /// <summary>An expired value served because the tracker's latest answer for it was a failure (stale-if-error).</summary>
    StaleIfError,

    /// <summary>The shared cache backend was unavailable: the value was created or held by this process alone (<see cref="CacheItem{T}.Degraded"/>).</summary>
    Degraded,
}

/// <summary>
/// The cache's work made visible: one badge per cached value on a page, and the same facts as response headers for
/// the JSON API (<c>X-Cache</c>, <c>Age</c>, <c>X-Cache-State</c>, <c>X-Cache-Created</c>, and per state
/// <c>X-Cache-Waited-Ms</c>/<c>X-Cache-Fetched-By</c> or <c>X-Cache-Failing-Since</c>).
/// </summary>
/// <param name="Region">The region the value came from.</param>
/// <param name="State">How it was served.</param>
/// <param name="Source">The library's own answer (hit, stale, miss), for <c>X-Cache</c>.</param>
/// <param name="Age">How old the value is.</param>
/// <param name="Created">When the value was created.</param>
/// <param name="Waited">How long this request waited for it.</param>
/// <param name="FetchedHere">On a miss: whether this request made the tracker call (else it waited for another's).</param>
/// <param name="FailingSince">When the tracker's current run of failures for this value began, if its latest call failed.</param>
/// <param name="Reason">For <see cref="CacheState.Degraded"/>: what is wrong with the backend.</param>
internal sealed record CacheBadge(
    string Region,
    CacheState State,
    CacheItemSource Source,
    TimeSpan Age,
    DateTimeOffset Created,
    TimeSpan Waited,
    bool FetchedHere,
    DateTimeOffset? FailingSince,
    string? Reason = null)
{
    public const string StateHeader = "X-Cache-State";

    /// <summary>Set on a response served without the shared backend, next to <c>X-Cache</c>.</summary>
    public const string DegradedHeader = "X-Cache-Degraded";

    /// <summary>The badge for a served item.</summary>
    public static CacheBadge From<T>(string region, CacheItem<T> item, TimeSpan waited, bool fetchedHere, DateTimeOffset? failingSince)
    {
        var state = item.Source switch
        {
            _ when item.Degraded => CacheState.Degraded,
            CacheItemSource.Hit => CacheState.Fresh,
            CacheItemSource.Stale when failingSince is not null => CacheState.StaleIfError,
            CacheItemSource.Stale => CacheState.Stale,
            _ => CacheState.Miss,
        };
        return new CacheBadge(region, state, item.Source, item.Age, item.Created, waited, fetchedHere, failingSince,
            item.Degraded ? "the shared cache is unavailable, so this server fetched or kept the value by itself" : null);
    }

    /// <summary>The state as the header and the page's <c>data-cache-state</c> spell it.</summary>
    public string StateName => Name(State);

    public static string Name(CacheState state) => state switch
    {
        CacheState.Fresh => "fresh",
        CacheState.Stale => "stale",
        CacheState.Miss => "miss",
        CacheState.StaleIfError => "stale-if-error",
        _ => "degraded",
    };

    /// <summary>One sentence for a person.</summary>
    public string Text => State switch
    {
        CacheState.Fresh => $"Fresh: from the cache, {Duration(Age)} old.",
        CacheState.Stale => $"Stale: {Duration(Age)} old, served at once; refreshing in the background.",
        CacheState.Miss when FetchedHere => $"Miss: this request waited {Seconds(Waited)} for the bug tracker; everyone after it gets the cached copy.",
        CacheState.Miss => $"Miss: this request waited {Seconds(Waited)} for another request's call to the bug tracker (one call served both).",
        CacheState.StaleIfError => $"The tracker is failing; showing the copy from {Created.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC ({Duration(Age)} old).",
        _ => $"Backend degraded: {Reason ?? "the shared cache is unavailable"}; served without it.",
    };

    /// <summary>The badge as HTML: a labelled box the browser tests and visitors read.</summary>
    public string ToHtml() =>
        $"<div class=\"badge badge-{StateName}\" data-cache-state=\"{StateName}\" data-region=\"{Page.E(Region)}\">"
        + $"<span class=\"badge-label\">{Page.E(Label)}</span> <span class=\"badge-text\">{Page.E(Text)}</span>"
        + $" <span class=\"badge-region\">region {Page.E(Region)}</span></div>\n";

    private string Label => State switch
    {
        CacheState.Fresh => "cache hit",
        CacheState.Stale => "stale",
        CacheState.Miss => "miss",
        CacheState.StaleIfError => "tracker failing",
        _ => "degraded",
    };

    /// <summary>The same facts as headers.</summary>
    public void WriteHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers[CacheHeaders.XCache] = CacheHeaders.Name(Source);
        headers.Age = ((long)Age.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        headers[StateHeader] = StateName;
        headers["X-Cache-Region"] = Region;
        headers["X-Cache-Created"] = Created.ToString("o", CultureInfo.InvariantCulture);
        if (State == CacheState.Degraded)
        {
            headers[DegradedHeader] = "backend-unavailable";
        }

        if (State == CacheState.Miss)
        {
            headers["X-Cache-Waited-Ms"] = ((long)Waited.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            headers["X-Cache-Fetched-By"] = FetchedHere ? "this-request" : "another-request";
        }

        if (FailingSince is { } since && State == CacheState.StaleIfError)
        {
            headers["X-Cache-Failing-Since"] = since.ToString("o", CultureInfo.InvariantCulture);
        }
    }

    private static string Duration(TimeSpan age) => age.TotalSeconds switch
    {
        < 1 => "under a second",
        < 120 => $"{(long)age.TotalSeconds} s",
        < 7200 => $"{(long)age.TotalMinutes} min",
        _ => $"{(long)age.TotalHours} h",
    };

    private static string Seconds(TimeSpan waited) => waited.TotalSeconds < 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(long)waited.TotalMilliseconds} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{waited.TotalSeconds:0.00} s");
}
