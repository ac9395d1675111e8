using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Packages.Upstream.Data;

namespace Packages.Upstream;

/// <summary>The simulator's services and routes, shared by the standalone Program and <see cref="UpstreamServer"/>.</summary>
internal static class UpstreamEndpoints
{
    /// <summary>Longest package name or search text accepted; Fedora names are far shorter.</summary>
    public const int MaxNameLength = 200;

    // Same settings minimal APIs use for Results.Json, so the garbage body is a prefix of a real answer.
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    public static IServiceCollection AddUpstream(this IServiceCollection services, UpstreamOptions options)
    {
        options.Validate();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(_ => BugCatalog.Generate(options.Seed ?? BugCatalog.DefaultSeed));
        services.AddSingleton<CallStats>();
        services.AddSingleton<FaultInjector>();
        return services;
    }

    public static IEndpointRouteBuilder MapUpstream(this IEndpointRouteBuilder app)
    {
        // Generate the catalog now rather than inside the first request, so that request's latency is the model's.
        _ = app.ServiceProvider.GetRequiredService<BugCatalog>();
        app.MapGet("/bugs/{package}", GetBugsAsync);
        app.MapGet("/packages", GetPackages);
        app.MapGet("/packages/{package}", GetInfoAsync);
        app.MapGet("/bug/{id}", GetBugAsync);
        app.MapGet("/show_bug/{id}", ShowBug);
        app.MapGet("/stats", (CallStats stats) =>
        {
            var calls = stats.Snapshot();
            return Results.Json(new StatsResponse(calls.Values.Sum(), calls));
        });

        // Calls per endpoint, all keys together: /stats stays the per-package count of /bugs it always was.
        app.MapGet("/stats/endpoints", (CallStats stats) =>
            Results.Json(new EndpointStatsResponse(stats.Snapshot().Values.Sum(), stats.InfoCalls, stats.BugCalls)));
        app.MapPost("/stats/reset", (CallStats stats) =>
        {
            stats.Reset();
            return Results.NoContent();
        });
        app.MapGet("/faults", (FaultInjector faults) => ToResponse(faults.Current));
        app.MapPost("/faults", SetFaultAsync);
        return app;
    }

    private static async Task<IResult> GetBugsAsync(
        string package,
        BugCatalog catalog,
        CallStats stats,
        FaultInjector faults,
        UpstreamOptions options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (Validate(package, "package name") is { } invalid)
        {
            return invalid;
        }

        if (!catalog.TryGetIndex(package, out var index))
        {
            // Not counted: stats are per real package, and counting arbitrary names would let callers grow them.
            return Error(StatusCodes.Status404NotFound, $"no package named '{package}'");
        }

        // Counted on arrival, before any latency or fault, so a cache in front can be judged by what it asked
        // for even when the tracker then failed or the caller gave up waiting.
        stats.Record(index);

        var bugs = catalog.Bugs[index];
        return await AnswerAsync(new BugsResponse(package, bugs), LatencyModel.For(bugs.Count, catalog.MaxBugCount, options.DelayScale), faults.Current, time, cancellationToken);
    }

    private static async Task<IResult> GetInfoAsync(
        string package,
        BugCatalog catalog,
        CallStats stats,
        FaultInjector faults,
        UpstreamOptions options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (Validate(package, "package name") is { } invalid)
        {
            return invalid;
        }

        if (!catalog.TryGetIndex(package, out var index))
        {
            return Error(StatusCodes.Status404NotFound, $"no package named '{package}'");
        }

        stats.RecordInfo();
        return await AnswerAsync(catalog.GetInfo(index), LatencyModel.ForInfo(options.DelayScale), faults.Current, time, cancellationToken);
    }

    private static async Task<IResult> GetBugAsync(
        string id,
        BugCatalog catalog,
        CallStats stats,
        FaultInjector faults,
        UpstreamOptions options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) || number <= 0)
        {
            return Error(StatusCodes.Status400BadRequest, "a bug id is a positive number");
        }

        if (!catalog.TryGetBug(number, out var bug))
        {
            return Error(StatusCodes.Status404NotFound, $"no bug {number}");
        }

        stats.RecordBug();
        return await AnswerAsync(bug, LatencyModel.ForBug(options.DelayScale), faults.Current, time, cancellationToken);
    }

    /// <summary>The tracker's own page for one bug (what bugzilla's show_bug.cgi was): plain HTML, no latency, no faults.</summary>
    private static IResult ShowBug(string id, BugCatalog catalog)
    {
        if (!int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
            || !catalog.TryGetBug(number, out var bug))
        {
            return Results.Content("<!DOCTYPE html><title>No such bug</title><h1>No such bug</h1>", "text/html; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
        }

        static string E(string text) => System.Net.WebUtility.HtmlEncode(text);
        var html = $"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bug {bug.Id} - {E(bug.Summary)}</title></head>\n"
            + $"<body><h1>Bug {bug.Id} - {E(bug.Summary)}</h1>\n<table><tr><th>Product</th><td>Fedora</td></tr><tr><th>Component</th><td>{E(bug.Component)}</td></tr>"
            + $"<tr><th>Status</th><td>{E(bug.Status)}</td></tr><tr><th>Reported</th><td>{E(bug.Reported)}</td></tr></table>\n"
            + "<p>Served by the bug tracker simulator (Packages.Upstream).</p></body></html>\n";
        return Results.Content(html, "text/html; charset=utf-8");
    }

    /// <summary>Applies the current fault and the latency, then answers with <paramref name="body"/> as JSON.</summary>
    private static async Task<IResult> AnswerAsync<T>(T body, TimeSpan delay, FaultSettings fault, TimeProvider time, CancellationToken cancellationToken)
    {
        if (fault.Mode == FaultMode.Fail)
        {
            return Error(StatusCodes.Status500InternalServerError, "simulated bug tracker failure (fault mode 'fail')");
        }

        if (fault.Mode == FaultMode.Slow)
        {
            // Not scaled: the caller asked for exactly this much extra time.
            delay += TimeSpan.FromMilliseconds(fault.DelayMs);
        }

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, time, cancellationToken);
        }

        var json = JsonSerializer.Serialize(body, WebJson);
        return fault.Mode == FaultMode.Garbage
            ? Results.Text(Truncate(json), "application/json")
            : Results.Text(json, "application/json; charset=utf-8");
    }

    private static IResult GetPackages(string? search, BugCatalog catalog)
    {
        // No simulated latency: in the seed story the package list came from the app's own index, not bugzilla.
        if (string.IsNullOrEmpty(search))
        {
            return Results.Json(new PackagesResponse(catalog.PackageNames));
        }

        return Validate(search, "search text") ?? Results.Json(new PackagesResponse(catalog.Search(search)));
    }

    private static async Task<IResult> SetFaultAsync(HttpRequest request, FaultInjector faults, CancellationToken cancellationToken)
    {
        const string Example = """expected a JSON body like {"mode": "slow", "delayMs": 500}""";
        FaultRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<FaultRequest>(request.Body, WebJson, cancellationToken);
        }
        catch (JsonException ex)
        {
            return Error(StatusCodes.Status400BadRequest, $"{Example}: {ex.Message}");
        }

        if (body is null)
        {
            return Error(StatusCodes.Status400BadRequest, Example);
        }

        if (!FaultSettings.TryParseMode(body.Mode, out var mode))
        {
            var what = body.Mode is null ? "missing \"mode\"" : $"unknown fault mode '{body.Mode}'";
            return Error(StatusCodes.Status400BadRequest, $"{what}; expected one of: none, fail, slow, garbage");
        }

        var delayMs = body.DelayMs ?? 0;
        if (delayMs is < 0 or > FaultSettings.MaxDelayMs)
        {
            return Error(StatusCodes.Status400BadRequest, $"delayMs must be between 0 and {FaultSettings.MaxDelayMs}, got {delayMs}");
        }

        var settings = new FaultSettings(mode, delayMs);
        faults.Current = settings;
        return ToResponse(settings);
    }

    private static IResult ToResponse(FaultSettings settings) =>
        Results.Json(new FaultResponse(FaultSettings.Name(settings.Mode), settings.DelayMs));

    private static IResult? Validate(string text, string what)
    {
        if (text.Length > MaxNameLength)
        {
            return Error(StatusCodes.Status400BadRequest, $"{what} is longer than {MaxNameLength} characters");
        }

        // Control characters would end up in logs and cache keys; no real package has them.
        return text.Any(char.IsControl)
            ? Error(StatusCodes.Status400BadRequest, $"{what} contains control characters")
            : null;
    }

    private static IResult Error(int statusCode, string message) =>
        Results.Json(new ErrorResponse(message), statusCode: statusCode);

    /// <summary>Cuts a valid answer inside the first bug's "summary" key: a 200 that no JSON parser accepts.</summary>
    internal static string Truncate(string json)
    {
        var summary = json.IndexOf("\"summ", StringComparison.Ordinal);
        return summary >= 0 ? json[..(summary + "\"summ".Length)] : json[..(json.Length / 2)];
    }
}
