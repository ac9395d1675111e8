using Microsoft.AspNetCore.WebUtilities;
using Dogpile;
using Packages.Web.Caching;
using Packages.Web.Configuration;
using Packages.Web.Html;
using Packages.Web.Upstream;

namespace Packages.Web.Endpoints;

/// <summary>
/// Every failed request gets an answer that says what failed: an HTML page, or problem details (RFC 9457, with the
/// app's usual <c>"error"</c> member) under <c>/api/</c>. It covers the exceptions no endpoint handled (the cache
/// backend unreachable: 503 naming it; the tracker: 502; a lock wait that ran out: 504; anything else: 500 without
/// internals) and the empty error statuses routing leaves (404 for an unknown address, 405 with <c>Allow</c>).
/// Messages are plain text that <see cref="Page"/> or the JSON writer encodes; stack traces go to the log only.
/// </summary>
internal sealed partial class ErrorResponses(RequestDelegate next, ILogger<ErrorResponses> logger, IServiceProvider services)
{
    private const int MaxReasonLength = 300;

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody is left to answer.
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var failure = Classify(ex);
            if (failure.Status == StatusCodes.Status500InternalServerError)
            {
                LogUnexpected(logger, ex, context.Request.Method, context.Request.Path);
            }
            else
            {
                LogFailed(logger, ex, context.Request.Method, context.Request.Path, failure.Status, failure.Message);
            }

            context.Response.Clear();
            await WriteAsync(context, failure);
            return;
        }

        // A failure after the first byte propagates: the server aborts the connection, the only signal left.
        var response = context.Response;
        if (!response.HasStarted && response.StatusCode is >= 400 and < 600 && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
        {
            await WriteAsync(context, Describe(response));
        }
    }

    private Failure Classify(Exception error)
    {
        if (Find<UpstreamException>(error) is { } upstream)
        {
            return new(StatusCodes.Status502BadGateway, "Bug tracker unavailable", $"The bug tracker failed: {Brief(upstream.Message)}");
        }

        var backend = services.GetService<ICacheBackendFactory>();
        if (backend is not null && Find<Exception>(error, backend.IsUnavailable) is { } unavailable)
        {
            var settings = services.GetService<PackagesSettings>();
            var where = settings is null ? "" : $" ({PackagesSettings.Name(settings.Cache.Backend)} at {string.Join(",", settings.Cache.Endpoints)})";
            return new(StatusCodes.Status503ServiceUnavailable, "Cache unavailable", $"The cache backend{where} is unavailable: {Brief(unavailable.Message)}");
        }

        if (Find<CacheLockTimeoutException>(error) is not null)
        {
            return new(StatusCodes.Status504GatewayTimeout, "Timed out", "Another request is still fetching this from the bug tracker. Try again in a moment.");
        }

        if (error is BadHttpRequestException bad)
        {
            return new(bad.StatusCode, "Bad request", bad.Message);
        }

        // Anything else is a bug here: say that it happened, keep its details (which may hold internals) for the log.
        return new(StatusCodes.Status500InternalServerError, "Internal error",
            $"The app failed while answering this request ({error.GetType().Name}). The details are in its log.");
    }

    private static Failure Describe(HttpResponse response)
    {
        switch (response.StatusCode)
        {
            case StatusCodes.Status404NotFound:
                return new(StatusCodes.Status404NotFound, "Not found", "There is no page at this address.");
            case StatusCodes.Status405MethodNotAllowed:
                // Routing lists the methods the endpoints declare (GET); HEAD is served wherever GET is (HeadAsGet).
                var allowed = response.Headers.Allow.ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                if (allowed.Contains(HttpMethods.Get) && !allowed.Contains(HttpMethods.Head))
                {
                    allowed.Insert(allowed.IndexOf(HttpMethods.Get) + 1, HttpMethods.Head);
                }

                var allow = string.Join(", ", allowed);
                response.Headers.Allow = allow;
                return new(StatusCodes.Status405MethodNotAllowed, "Method not allowed", $"This address answers {allow} only.");
            default:
                var reason = ReasonPhrases.GetReasonPhrase(response.StatusCode);
                return new(response.StatusCode, reason.Length > 0 ? reason : "Error", "The request could not be answered.");
        }
    }

    private static async Task WriteAsync(HttpContext context, Failure failure)
    {
        context.Response.StatusCode = failure.Status;
        var result = context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            ? Results.Problem(
                detail: failure.Message,
                statusCode: failure.Status,
                title: failure.Title,
                extensions: new Dictionary<string, object?> { ["error"] = failure.Message })
            : Page.Error(failure.Status, failure.Title, failure.Message);
        await result.ExecuteAsync(context);
    }

    /// <summary>A client library's message can run to a kilobyte of connection diagnostics: the page gets the start, the log all of it.</summary>
    private static string Brief(string message) =>
        message.Length <= MaxReasonLength ? message : string.Concat(message.AsSpan(0, MaxReasonLength), "... (the full error is in the log)");

    /// <summary>The first exception of type <typeparamref name="T"/> (matching <paramref name="match"/>) in the chain of causes.</summary>
    private static T? Find<T>(Exception? error, Func<Exception, bool>? match = null)
        where T : Exception
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is T found && (match is null || match(found)))
            {
                return found;
            }

            if (error is AggregateException { InnerExceptions: var inner })
            {
                return inner.Select(e => Find<T>(e, match)).FirstOrDefault(e => e is not null);
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "{Method} {Path} answered {Status}: {Reason}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, PathString path, int status, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "{Method} {Path} failed unexpectedly; answered 500")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, PathString path);

    private readonly record struct Failure(int Status, string Title, string Message);
}

/// <summary>Registers <see cref="ErrorResponses"/>.</summary>
internal static class ErrorResponsesExtensions
{
    /// <summary>Adds the error answers; call it first, so they wrap everything after it.</summary>
    public static IApplicationBuilder UseErrorResponses(this IApplicationBuilder app) => app.UseMiddleware<ErrorResponses>();
}
