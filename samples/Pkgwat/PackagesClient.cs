using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Pkgwat;

/// <summary>An answer from the app: its JSON body and how its cache served it.</summary>
internal sealed record ApiReply(JsonElement Body, CacheInfo Cache);

/// <summary>A failure worth one clear line to the user (printed after "error: ") and the exit code it earns.</summary>
internal sealed class PkgwatException(string message, int exitCode, int? status = null, CacheInfo? cache = null) : Exception(message)
{
    public int ExitCode => exitCode;

    /// <summary>The app's HTTP status, when it answered.</summary>
    public int? Status => status;

    public CacheInfo? Cache => cache;
}

/// <summary>Talks to the packages web app's JSON API and turns every way it can go wrong into a <see cref="PkgwatException"/>.</summary>
internal sealed class PackagesClient(HttpClient http, Uri baseUrl, TimeSpan timeout)
{
    /// <summary>The address as the user would write it, for messages.</summary>
    private string Shown => baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public Task<ApiReply> GetAsync(string pathAndQuery, string what, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, pathAndQuery, what, cancellationToken);

    public Task<ApiReply> PostAsync(string pathAndQuery, string what, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, pathAndQuery, what, cancellationToken);

    private async Task<ApiReply> SendAsync(HttpMethod method, string pathAndQuery, string what, CancellationToken cancellationToken)
    {
        // Our own deadline rather than HttpClient.Timeout: it covers the body too, and tells a timeout from Ctrl+C.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(baseUrl, pathAndQuery));
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var cache = CacheInfo.From(response.Headers);
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(deadline.Token);
            }
            catch (HttpRequestException ex)
            {
                throw new PkgwatException($"the packages app at {Shown} broke off {what}: {ex.Message}", ExitCodes.AppError, (int)response.StatusCode, cache);
            }

            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var detail = ErrorDetail(body);
                if (response.StatusCode == HttpStatusCode.NotFound && detail is not null)
                {
                    // The app's own "no package named 'x'" / "no bug 7": an answer, not a failure of the app.
                    throw new PkgwatException(detail, ExitCodes.Failure, status, cache);
                }

                var code = response.StatusCode == HttpStatusCode.BadRequest ? ExitCodes.Usage : ExitCodes.AppError;
                throw new PkgwatException(
                    $"the packages app at {Shown} answered {status} {response.ReasonPhrase} for {what}{(detail is null ? "" : ": " + detail)}",
                    code, status, cache);
            }

            try
            {
                using var doc = JsonDocument.Parse(body);
                return new ApiReply(doc.RootElement.Clone(), cache);
            }
            catch (JsonException ex)
            {
                throw new PkgwatException($"the packages app at {Shown} sent invalid JSON for {what}: {ex.Message}", ExitCodes.AppError, (int)response.StatusCode, cache);
            }
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            throw new PkgwatException($"cannot reach the packages app at {Shown}: {Reason(ex)}", ExitCodes.Unreachable);
        }
        catch (HttpRequestException ex)
        {
            throw new PkgwatException($"the packages app at {Shown} failed to answer: {ex.Message}", ExitCodes.Unreachable);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PkgwatException(
                $"the packages app at {Shown} did not answer {what} within {timeout.TotalSeconds:0.###}s (--timeout or {PkgwatEnvironment.TimeoutVariable} to wait longer)",
                ExitCodes.Unreachable);
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

    /// <summary>The app's <c>{"error": "..."}</c> message (endpoints and problem details both carry one), if it sent one.</summary>
    private static string? ErrorDetail(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String
                ? CacheInfo.Clean(error.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
