using Dogpile;
using Packages.Web.Caching;
using Packages.Web.Html;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>A value as served, with its badge.</summary>
internal readonly record struct Served<T>(CacheItem<T> Item, CacheBadge Badge)
{
    public T Value => Item.Value;
}

/// <summary>Why there is nothing to serve: the status, a title for a page, and a message for both.</summary>
internal sealed record LookupFailure(int Status, string Title, string Message);

/// <summary>One cached lookup, timed and marked, with the two failures an endpoint answers itself (502 and 504).</summary>
internal static class Lookup
{
    /// <summary>
    /// Runs the lookup and builds its badge. An async method of its own, so the fetch mark set here flows into the
    /// creator the lookup runs (if it runs one) and not into a sibling lookup of the same page.
    /// </summary>
    public static async Task<(Served<T> Served, LookupFailure? Failure)> RunAsync<T>(
        string region,
        string argument,
        string what,
        Func<CancellationToken, ValueTask<CacheItem<T>>> get,
        PackageCache cache,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var fetchedHere = FetchTracker.Begin();
        var start = time.GetTimestamp();
        try
        {
            var item = await get(cancellationToken);
            var badge = CacheBadge.From(region, item, time.GetElapsedTime(start), fetchedHere.Value, cache.Tracker.FailingSince(region, argument));
            return (new Served<T>(item, badge), null);
        }
        catch (UpstreamException ex)
        {
            // Reached only when nothing is cached: with a stale value the region serves it and the refresh fails quietly.
            return (default, new LookupFailure(StatusCodes.Status502BadGateway, "Bug tracker unavailable",
                $"The bug tracker failed and no copy of {what} is cached yet: {ex.Message}. Try again later."));
        }
        catch (CacheLockTimeoutException)
        {
            return (default, new LookupFailure(StatusCodes.Status504GatewayTimeout, "Bug tracker too slow",
                $"{char.ToUpperInvariant(what[0])}{what[1..]} are still being fetched from the bug tracker. Try again in a moment."));
        }
    }

    /// <summary>The headers of a served value, or of a failed miss (no age to give).</summary>
    public static void WriteHeaders<T>(HttpResponse response, Served<T> served, LookupFailure? failure)
    {
        if (failure is null)
        {
            served.Badge.WriteHeaders(response);
        }
        else
        {
            CacheHeaders.SetMiss(response);
        }
    }
}
