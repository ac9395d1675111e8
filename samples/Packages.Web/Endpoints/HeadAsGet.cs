namespace Packages.Web.Endpoints;

/// <summary>
/// Answers HEAD like GET, on every route (RFC 9110 9.3.2): the request is routed and handled as a GET, and the server,
/// which parsed HEAD from the request line, sends the headers (Content-Length included) without the body. Doing it
/// once here keeps every endpoint a plain <c>MapGet</c> and covers endpoints added later.
/// </summary>
internal static class HeadAsGet
{
    /// <summary>Adds the HEAD handling; call it before <c>UseRouting</c>, so routing sees GET.</summary>
    public static IApplicationBuilder UseHeadAsGet(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }

        context.Request.Method = HttpMethods.Get;
        try
        {
            await next(context);
        }
        finally
        {
            context.Request.Method = HttpMethods.Head;
        }
    });
}
