using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Packages.Web.Caching;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>
/// The dashboard's demo: drop a package's bug list from the cache, then send N concurrent requests for it through
/// the app's own HTTP endpoint, and count how many called the tracker. Bounded, and refused unless the app listens
/// on loopback only or <c>Showcase:AllowStampede</c> is true: on a shared address it would be a load generator
/// anyone could trigger.
/// </summary>
internal static class Stampede
{
    /// <summary>Most requests one stampede may fire.</summary>
    public const int MaxRequests = 200;

    public const string AllowSetting = "Showcase:AllowStampede";

    private static readonly HttpClient s_http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
        Timeout = TimeSpan.FromSeconds(120),
    };

    public static async Task<IResult> RunAsync(
        string? n, string? package, HttpContext context, PackageCache cache, IServer server, IConfiguration configuration, UpstreamClient upstream, TimeProvider time)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        if (!IsAllowed(configuration.GetValue<bool>(AllowSetting), addresses))
        {
            return BugEndpoints.ApiError(StatusCodes.Status403Forbidden,
                $"the stampede runs only when the app listens on loopback; set {AllowSetting}=true to allow it on {string.Join(", ", addresses)}");
        }

        var count = 50;
        if (n is not null && (!int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxRequests))
        {
            return BugEndpoints.ApiError(StatusCodes.Status400BadRequest, $"n is a number from 1 to {MaxRequests}");
        }

        var names = (await cache.GetPackagesAsync(context.RequestAborted)).Value.Names;
        if (string.IsNullOrWhiteSpace(package))
        {
            // kernel is the slow one everybody tries first; a random other one keeps repeated stampedes cold.
            package = names[Random.Shared.Next(names.Count)];
        }
        else if (!PackageName.IsValid(package) || !names.Contains(package))
        {
            return BugEndpoints.ApiError(StatusCodes.Status400BadRequest, "package is the name of a package the tracker knows");
        }

        await cache.ForgetBugsAsync(package, context.RequestAborted);
        var self = SelfAddress(addresses);
        var target = new Uri(self, $"api/packages/{Uri.EscapeDataString(package)}/bugs");
        var callsBefore = upstream.Calls;
        var start = time.GetTimestamp();
        var replies = await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            using var response = await s_http.GetAsync(target, context.RequestAborted);
            return (Status: (int)response.StatusCode,
                Cache: response.Headers.TryGetValues("X-Cache", out var c) ? c.First() : "",
                FetchedBy: response.Headers.TryGetValues("X-Cache-Fetched-By", out var f) ? f.First() : "");
        }));
        var elapsed = time.GetElapsedTime(start);
        var fetched = replies.Count(r => r.FetchedBy == "this-request");
        return Results.Json(new StampedeResponse(
            package,
            count,
            fetched,
            fetched,
            replies.Count(r => r.FetchedBy == "another-request"),
            replies.Count(r => r.Cache == "hit"),
            upstream.Calls - callsBefore,
            replies.Count(r => r.Status == StatusCodes.Status200OK),
            (long)elapsed.TotalMilliseconds));
    }

    /// <summary>Whether a stampede may run: configured so, or every address the app listens on is loopback.</summary>
    internal static bool IsAllowed(bool configured, ICollection<string> addresses) => configured || (addresses.Count > 0 && addresses.All(IsLoopback));

    private static bool IsLoopback(string address)
    {
        var host = BindingHost(address);
        return host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>The host of a Kestrel binding, e.g. <c>http://[::1]:5080</c> gives <c>::1</c>, <c>http://*:80</c> gives <c>*</c>.</summary>
    private static string BindingHost(string address)
    {
        var rest = address[(address.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var end = rest.StartsWith('[') ? rest.IndexOf(']', StringComparison.Ordinal) + 1 : rest.LastIndexOf(':');
        var host = end > 0 ? rest[..end] : rest.TrimEnd('/');
        return host.Trim('[', ']').ToLowerInvariant();
    }

    private static Uri SelfAddress(ICollection<string> addresses)
    {
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.First();
        var host = BindingHost(address);
        var port = address[(address.LastIndexOf(':') + 1)..].TrimEnd('/');
        var reachable = host is "*" or "+" or "0.0.0.0" or "::" ? "127.0.0.1" : host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return new Uri($"{address[..address.IndexOf("://", StringComparison.Ordinal)]}://{reachable}:{port}/");
    }
}

/// <summary>What one stampede cost.</summary>
/// <param name="Package">The package it hit.</param>
/// <param name="Requests">Requests fired.</param>
/// <param name="UpstreamCalls">Tracker calls the requests made (the ones that ran the creator).</param>
/// <param name="Fetched">Requests that ran the creator themselves.</param>
/// <param name="Waited">Requests that waited for another's call.</param>
/// <param name="Hits">Requests that arrived after the value was stored.</param>
/// <param name="AllUpstreamCalls">Every tracker call this process made meanwhile (other traffic included).</param>
/// <param name="Ok">Requests answered 200.</param>
/// <param name="ElapsedMs">Wall time of the whole stampede.</param>
internal sealed record StampedeResponse(string Package, int Requests, int UpstreamCalls, int Fetched, int Waited, int Hits, long AllUpstreamCalls, int Ok, long ElapsedMs);
