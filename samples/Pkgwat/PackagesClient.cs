using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace Pkgwat;

/// <summary>One bug as the packages app lists it.</summary>
internal sealed record BugRow(long Id, string Status, string Summary);

/// <summary>A package's bugs plus how the app's cache served them (<c>X-Cache</c>, <c>Age</c> headers).</summary>
internal sealed record BugList(string Package, IReadOnlyList<BugRow> Bugs, string? Cache, TimeSpan? Age);

/// <summary>A failure worth one clear line to the user; the message is printed after "error: ".</summary>
internal sealed class PkgwatException(string message) : Exception(message);

/// <summary>Talks to the packages web app's JSON API and turns every way it can go wrong into a <see cref="PkgwatException"/>.</summary>
internal sealed class PackagesClient(HttpClient http, Uri baseUrl)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The address as the user would write it, for messages.</summary>
    private string Shown => baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public async Task<BugList> GetBugsAsync(string package, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUrl, $"api/packages/{Uri.EscapeDataString(package)}/bugs");
        using var response = await SendAsync(uri, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new PkgwatException($"no package named '{package}'");
        }

        var payload = await ReadAsync<BugsPayload>(response, $"the bugs of '{package}'", cancellationToken);
        if (payload.Bugs is null)
        {
            throw new PkgwatException($"the packages app at {Shown} sent JSON without a \"bugs\" list for '{package}'");
        }

        var rows = payload.Bugs.Select(b => new BugRow(b.Id, b.Status ?? "", b.Summary ?? "")).ToList();
        return new BugList(payload.Package ?? package, rows, CacheHeader(response.Headers), response.Headers.Age);
    }

    public async Task<IReadOnlyList<string>> SearchAsync(string text, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUrl, $"api/packages?search={Uri.EscapeDataString(text)}");
        using var response = await SendAsync(uri, cancellationToken);
        var payload = await ReadAsync<PackagesPayload>(response, $"the search for '{text}'", cancellationToken);
        return payload.Packages ?? throw new PkgwatException(
            $"the packages app at {Shown} sent JSON without a \"packages\" list for '{text}'");
    }

    private async Task<HttpResponseMessage> SendAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            // Headers first: the body is read (and its errors reported) separately below.
            return await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            throw new PkgwatException($"cannot reach the packages app at {Shown}: {Reason(ex)}");
        }
        catch (HttpRequestException ex)
        {
            throw new PkgwatException($"the packages app at {Shown} failed to answer: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation the caller did not ask for.
            throw new PkgwatException($"the packages app at {Shown} did not answer within {http.Timeout.TotalSeconds:0}s");
        }
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, string what, CancellationToken cancellationToken)
        where T : class
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new PkgwatException($"the packages app at {Shown} broke off {what}: {ex.Message}");
        }

        if (!response.IsSuccessStatusCode)
        {
            var detail = ErrorDetail(body);
            throw new PkgwatException(
                $"the packages app at {Shown} answered {(int)response.StatusCode} {response.ReasonPhrase} for {what}{(detail is null ? "" : ": " + detail)}");
        }

        try
        {
            return JsonSerializer.Deserialize<T>(body, Json)
                ?? throw new PkgwatException($"the packages app at {Shown} sent an empty answer for {what}");
        }
        catch (JsonException ex)
        {
            throw new PkgwatException($"the packages app at {Shown} sent invalid JSON for {what}: {ex.Message}");
        }
    }

    private static string Reason(HttpRequestException ex) => ex.InnerException is SocketException socket
        ? socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.TimedOut => "connection timed out",
            SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "host not found",
            SocketError.HostUnreachable or SocketError.NetworkUnreachable => "network unreachable",
            _ => socket.Message,
        }
        : ex.Message;

    private static string? CacheHeader(HttpResponseHeaders headers) =>
        headers.TryGetValues("X-Cache", out var values) ? values.FirstOrDefault()?.Trim() : null;

    /// <summary>The app's <c>{"error": "..."}</c> message, if it sent one.</summary>
    private static string? ErrorDetail(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String
                ? error.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record BugsPayload(string? Package, List<BugPayload>? Bugs);

    private sealed record BugPayload(long Id, string? Summary, string? Status);

    private sealed record PackagesPayload(List<string>? Packages);
}
