using System.Net;
using System.Text.Json;

namespace Packages.Web.Upstream;

/// <summary>
/// Talks to the bug tracker. Every way it can fail becomes an <see cref="UpstreamException"/> (never cached);
/// a 404 for a package is an answer (<see cref="BugList.NotFound"/>), cached like any other.
/// </summary>
public sealed class UpstreamClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;
    private readonly UpstreamLocation _location;

    /// <summary>Creates a client with its own connection pool.</summary>
    /// <param name="location">Where the tracker is.</param>
    /// <param name="timeout">How long one request may take.</param>
    public UpstreamClient(UpstreamLocation location, TimeSpan timeout)
    {
        _location = location;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = timeout,
        };
    }

    /// <summary>The bugs of one package.</summary>
    /// <param name="package">A valid package name (see <see cref="PackageName"/>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The bug list, or <see cref="BugList.NotFound"/>.</returns>
    /// <exception cref="UpstreamException">The tracker failed or answered nonsense.</exception>
    public async ValueTask<BugList> GetBugsAsync(string package, CancellationToken cancellationToken)
    {
        var what = $"the bugs of '{package}'";
        using var response = await SendAsync($"bugs/{Uri.EscapeDataString(package)}", what, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return BugList.NotFound(package);
        }

        var wire = await ReadAsync<WireBugs>(response, what, cancellationToken);
        if (wire.Bugs is null)
        {
            throw new UpstreamException($"the bug tracker's answer for {what} has no \"bugs\" list");
        }

        var bugs = new List<Bug>(wire.Bugs.Count);
        foreach (var bug in wire.Bugs)
        {
            if (bug is null)
            {
                throw new UpstreamException($"the bug tracker's answer for {what} contains a null bug");
            }

            bugs.Add(new Bug(bug.Id, bug.Summary ?? "", bug.Status ?? ""));
        }

        return new BugList(package, true, bugs);
    }

    /// <summary>Requests sent to the tracker since the start, for the status dashboard.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    private long _calls;

    /// <summary>A package's overview.</summary>
    /// <param name="package">A valid package name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The overview, or <see cref="PackageInfo.NotFound"/>.</returns>
    /// <exception cref="UpstreamException">The tracker failed or answered nonsense.</exception>
    public async ValueTask<PackageInfo> GetInfoAsync(string package, CancellationToken cancellationToken)
    {
        var what = $"the overview of '{package}'";
        using var response = await SendAsync($"packages/{Uri.EscapeDataString(package)}", what, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return PackageInfo.NotFound(package);
        }

        var wire = await ReadAsync<WireInfo>(response, what, cancellationToken);
        return new PackageInfo(
            package, true, wire.Summary ?? "", wire.Description ?? "", wire.Homepage ?? "", wire.License ?? "", wire.Maintainer ?? "", wire.Version ?? "");
    }

    /// <summary>One bug.</summary>
    /// <param name="id">A bug number (positive).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The bug, or <see cref="BugDetail.NotFound"/>.</returns>
    /// <exception cref="UpstreamException">The tracker failed or answered nonsense.</exception>
    public async ValueTask<BugDetail> GetBugAsync(long id, CancellationToken cancellationToken)
    {
        var what = $"bug {id}";
        using var response = await SendAsync($"bug/{id}", what, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return BugDetail.NotFound(id);
        }

        var wire = await ReadAsync<WireBugDetail>(response, what, cancellationToken);
        if (wire.Id != id || string.IsNullOrEmpty(wire.Package))
        {
            throw new UpstreamException($"the bug tracker's answer for {what} is about another bug");
        }

        return new BugDetail(id, true, wire.Package, wire.Summary ?? "", wire.Status ?? "", wire.Reported ?? "");
    }

    /// <summary>Every package name the tracker knows.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The names.</returns>
    /// <exception cref="UpstreamException">The tracker failed or answered nonsense.</exception>
    public async ValueTask<PackageIndex> GetPackagesAsync(CancellationToken cancellationToken)
    {
        const string What = "the package list";
        using var response = await SendAsync("packages", What, cancellationToken);
        var wire = await ReadAsync<WirePackages>(response, What, cancellationToken);
        if (wire.Packages is null || wire.Packages.Any(p => p is null))
        {
            throw new UpstreamException("the bug tracker's package list is not a list of names");
        }

        return new PackageIndex(wire.Packages);
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(string path, string what, CancellationToken cancellationToken)
    {
        var baseAddress = await _location.GetAsync(cancellationToken);
        Interlocked.Increment(ref _calls);
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(new Uri(baseAddress, path), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new UpstreamException($"cannot reach the bug tracker for {what}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation nobody asked for.
            throw new UpstreamException($"the bug tracker did not answer {what} within {_http.Timeout.TotalSeconds:0.#} s", ex);
        }

        if (response.StatusCode != HttpStatusCode.NotFound && !response.IsSuccessStatusCode)
        {
            var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            response.Dispose();
            throw new UpstreamException($"the bug tracker answered {status} for {what}");
        }

        return response;
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, string what, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonSerializer.DeserializeAsync<T>(body, Json, cancellationToken)
                ?? throw new UpstreamException($"the bug tracker sent an empty answer for {what}");
        }
        catch (JsonException ex)
        {
            throw new UpstreamException($"the bug tracker sent invalid JSON for {what} ({ex.Message})", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new UpstreamException($"the bug tracker broke off {what}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamException($"the bug tracker did not finish {what} within {_http.Timeout.TotalSeconds:0.#} s", ex);
        }
    }

    private sealed record WireBugs(string? Package, List<WireBug?>? Bugs);

    private sealed record WireBug(long Id, string? Summary, string? Status);

    private sealed record WirePackages(List<string>? Packages);

    private sealed record WireInfo(string? Summary, string? Description, string? Homepage, string? License, string? Maintainer, string? Version);

    private sealed record WireBugDetail(long Id, string? Package, string? Summary, string? Status, string? Reported);
}
