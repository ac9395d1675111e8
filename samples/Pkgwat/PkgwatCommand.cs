using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Pkgwat;

/// <summary>The whole CLI behind <c>Main</c>: parse, call the packages app, print, and choose the exit code.</summary>
public static class PkgwatCommand
{
    /// <summary>Runs <c>pkgwat</c> with <paramref name="args"/>; returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The command line without the program name, e.g. <c>["bugs", "kernel", "--url", "http://127.0.0.1:5080"]</c>.</param>
    /// <param name="output">Where results go (tables, JSON).</param>
    /// <param name="error">Where usage and <c>error: ...</c> lines go.</param>
    /// <param name="http">Client for the packages app; pkgwat applies its own timeout (<c>--timeout</c>), so give it an infinite one.</param>
    /// <param name="environment"><c>PKGWAT_URL</c>, <c>PKGWAT_TIMEOUT</c> and the terminal; <see langword="null"/> for the built-in defaults.</param>
    /// <param name="cancellationToken">Cancels the request (Ctrl+C).</param>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter output,
        TextWriter error,
        HttpClient http,
        PkgwatEnvironment? environment = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(http);
        environment ??= new PkgwatEnvironment();

        var line = new CommandLine();
        var root = line.Build((kind, parse, ct) => RunCommandAsync(kind, parse, line, output, error, http, environment, ct));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync("error: " + problem.Message);
            }

            await error.WriteLineAsync("Run 'pkgwat --help' for the commands and options.");
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            // Program.cs handles Ctrl+C itself and passes the token in.
            ProcessTerminationTimeout = null,
        };
        return await parsed.InvokeAsync(invocation, cancellationToken);
    }

    private static async Task<int> RunCommandAsync(
        PkgwatCommandKind kind, ParseResult parse, CommandLine line, TextWriter output, TextWriter error, HttpClient http, PkgwatEnvironment environment, CancellationToken cancellationToken)
    {
        var urlOption = parse.GetValue(line.Url);
        var urlText = urlOption ?? environment.DefaultUrl ?? PkgwatEnvironment.BuiltInUrl;
        if (CommandLine.TryParseBaseUrl(urlText) is not { } baseUrl)
        {
            var source = urlOption is null && environment.DefaultUrl is not null ? PkgwatEnvironment.UrlVariable : "--url";
            await error.WriteLineAsync($"error: {source} must be an absolute http:// or https:// URL, got '{urlText}'");
            return ExitCodes.Usage;
        }

        var seconds = parse.GetValue(line.Timeout);
        if (seconds is null && environment.DefaultTimeout is { } text)
        {
            seconds = CommandLine.TryParseSeconds(text);
            if (seconds is null)
            {
                await error.WriteLineAsync($"error: {PkgwatEnvironment.TimeoutVariable} must be a number of seconds greater than 0, got '{text}'");
                return ExitCodes.Usage;
            }
        }

        var client = new PackagesClient(http, baseUrl, TimeSpan.FromSeconds(seconds ?? PkgwatEnvironment.BuiltInTimeoutSeconds));
        var json = parse.GetValue(line.Json);
        var printer = new Printer(output, environment);
        try
        {
            return kind switch
            {
                PkgwatCommandKind.Search => await SearchAsync(client, printer, error, json, parse.GetRequiredValue(line.SearchText), parse.GetValue(line.Limit), parse.GetValue(line.Page), cancellationToken),
                PkgwatCommandKind.Info => await InfoAsync(client, printer, json, parse.GetRequiredValue(line.PackageName), cancellationToken),
                PkgwatCommandKind.Bugs => await BugsAsync(client, printer, json, parse.GetRequiredValue(line.PackageName), parse.GetRequiredValue(line.Status), parse.GetValue(line.Limit), parse.GetValue(line.Page), cancellationToken),
                PkgwatCommandKind.Bug => await BugAsync(client, printer, json, parse.GetValue(line.BugId), cancellationToken),
                PkgwatCommandKind.Stampede => await StampedeAsync(client, printer, json, parse.GetValue(line.Requests), parse.GetValue(line.StampedePackage), cancellationToken),
                PkgwatCommandKind.Watch => await WatchAsync(client, printer, json, parse.GetValue(line.Interval), parse.GetValue(line.Count), cancellationToken),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            };
        }
        catch (PkgwatException ex)
        {
            if (json)
            {
                printer.Json(w =>
                {
                    w.WriteString("error", ex.Message);
                    if (ex.Status is { } status)
                    {
                        w.WriteNumber("status", status);
                    }

                    w.WriteNumber("exitCode", ex.ExitCode);
                    Printer.WriteCache(w, ex.Cache);
                });
            }

            await error.WriteLineAsync("error: " + ex.Message);
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("interrupted");
            return ExitCodes.Interrupted;
        }
    }

    private static async Task<int> SearchAsync(PackagesClient client, Printer printer, TextWriter error, bool json, string text, int limit, int page, CancellationToken cancellationToken)
    {
        var reply = await client.GetAsync($"api/packages?search={Uri.EscapeDataString(text)}", $"the search for '{text}'", cancellationToken);
        var names = reply.Body.TryGetProperty("packages", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(n => n.GetString() ?? "").ToList()
            : throw new PkgwatException($"the packages app sent JSON without a \"packages\" list for '{text}'", ExitCodes.AppError);

        // The app answers every match at once (the list is one cached value); pages are cut here.
        var pages = Math.Max(1, (names.Count + limit - 1) / limit);
        var rows = names.Skip((int)Math.Min(int.MaxValue, (long)(page - 1) * limit)).Take(limit).ToList();
        if (json)
        {
            printer.Json(w =>
            {
                w.WriteString("search", text);
                w.WriteNumber("total", names.Count);
                w.WriteNumber("page", page);
                w.WriteNumber("pages", pages);
                w.WriteNumber("limit", limit);
                w.WriteStartArray("packages");
                rows.ForEach(w.WriteStringValue);
                w.WriteEndArray();
                Printer.WriteCache(w, reply.Cache);
            });
        }
        else if (names.Count > 0)
        {
            var table = printer.Table("PACKAGE");
            rows.ForEach(name => table.AddRow(Printer.Cell(name)));
            printer.Write(table);
            printer.Line(rows.Count == 0
                ? $"page {page} of {pages}: no packages on this page ({names.Count} match '{text}')"
                : $"page {page} of {pages}: {Range(page, limit, rows.Count)} of {names.Count} {Plural(names.Count, "package")} matching '{text}'");
            printer.Served(reply.Cache);
        }

        if (names.Count > 0)
        {
            return ExitCodes.Success;
        }

        // Like grep: nothing on stdout (in human output) and a non-zero exit, so `pkgwat search x && ...` reads naturally.
        await error.WriteLineAsync($"no packages match '{text}'");
        return ExitCodes.Failure;
    }

    private static async Task<int> InfoAsync(PackagesClient client, Printer printer, bool json, string package, CancellationToken cancellationToken)
    {
        var reply = await client.GetAsync($"api/packages/{Uri.EscapeDataString(package)}", $"the overview of '{package}'", cancellationToken);
        if (json)
        {
            printer.Json(reply);
            return ExitCodes.Success;
        }

        printer.Fields(reply.Body, ("Name", "name"), ("Summary", "summary"), ("Version", "version"), ("License", "license"),
            ("Maintainer", "maintainer"), ("Upstream", "homepage"), ("Description", "description"));
        printer.Served(reply.Cache);
        return ExitCodes.Success;
    }

    private static async Task<int> BugsAsync(PackagesClient client, Printer printer, bool json, string package, string status, int limit, int page, CancellationToken cancellationToken)
    {
        var reply = await client.GetAsync(
            string.Create(CultureInfo.InvariantCulture, $"api/packages/{Uri.EscapeDataString(package)}/bugs?status={status}&page={page}&limit={limit}"),
            $"the bugs of '{package}'",
            cancellationToken);
        if (json)
        {
            printer.Json(reply);
            return ExitCodes.Success;
        }

        var body = reply.Body;
        if (!body.TryGetProperty("bugs", out var bugs) || bugs.ValueKind != JsonValueKind.Array)
        {
            throw new PkgwatException($"the packages app sent JSON without a \"bugs\" list for '{package}'", ExitCodes.AppError);
        }

        var total = Int(body, "total");
        var pages = Math.Max(1, Int(body, "pages"));
        var rows = bugs.EnumerateArray().ToList();
        if (rows.Count > 0)
        {
            var ids = rows.Select(b => CacheInfo.Clean(Printer.Text(b, "id"))).ToList();
            var statuses = rows.Select(b => CacheInfo.Clean(Printer.Text(b, "status"))).ToList();
            var room = printer.LastColumnWidth(Math.Max(2, ids.Max(s => s.Length)), Math.Max(6, statuses.Max(s => s.Length)));
            var table = printer.Table("ID", "STATUS", "SUMMARY");
            for (var i = 0; i < rows.Count; i++)
            {
                table.AddRow(Printer.Cell(ids[i]), Printer.Cell(statuses[i]), Printer.Cell(Printer.Fit(Printer.Text(rows[i], "summary"), room)));
            }

            printer.Write(table);
        }

        var what = $"{total} {(status == "all" ? "" : status + " ")}{Plural(total, "bug")} of {package}";
        printer.Line(rows.Count == 0 ? $"page {page} of {pages}: no bugs on this page ({what})" : $"page {page} of {pages}: {Range(page, limit, rows.Count)} of {what}");
        if (body.TryGetProperty("counts", out var counts) && counts.ValueKind == JsonValueKind.Object)
        {
            printer.Line(string.Join(", ", CommandLine.Statuses.Select(s => $"{s} {Int(counts, s)}")));
        }

        if (page < pages)
        {
            printer.Dim($"next: pkgwat bugs {package}{(status == "open" ? "" : " --status " + status)} --page {page + 1}");
        }

        printer.Served(reply.Cache);
        return ExitCodes.Success;
    }

    private static async Task<int> BugAsync(PackagesClient client, Printer printer, bool json, long id, CancellationToken cancellationToken)
    {
        var reply = await client.GetAsync(string.Create(CultureInfo.InvariantCulture, $"api/bugs/{id}"), $"bug {id}", cancellationToken);
        if (json)
        {
            printer.Json(reply);
            return ExitCodes.Success;
        }

        printer.Fields(reply.Body, ("Bug", "id"), ("Package", "package"), ("Status", "status"), ("Summary", "summary"), ("Reported", "reported"));
        printer.Served(reply.Cache);
        return ExitCodes.Success;
    }

    private static async Task<int> StampedeAsync(PackagesClient client, Printer printer, bool json, int requests, string? package, CancellationToken cancellationToken)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"status/stampede?n={requests}")
            + (package is null ? "" : "&package=" + Uri.EscapeDataString(package));
        var reply = await client.PostAsync(query, "the stampede", cancellationToken);
        if (json)
        {
            printer.Json(reply);
            return ExitCodes.Success;
        }

        var r = reply.Body;
        printer.Line($"{Int(r, "requests")} concurrent requests for the bugs of {Printer.Text(r, "package")} (dropped from the cache first):");
        printer.Line($"  {Int(r, "upstreamCalls")} reached the bug tracker, {Int(r, "waited")} waited for that call, {Int(r, "hits")} found it cached");
        printer.Line($"  {Int(r, "ok")} answered 200 in {Int(r, "elapsedMs")} ms");
        return ExitCodes.Success;
    }

    private static async Task<int> WatchAsync(PackagesClient client, Printer printer, bool json, double interval, int? count, CancellationToken cancellationToken)
    {
        var printed = 0;
        string? last = null;
        if (!json)
        {
            printer.Line($"{"UTC",-8} {"REQ/S",6} {"TRACKER/S",9} {"P50 MS",7} {"P99 MS",7} {"HIT",5} {"STALE",5} {"MISS",5} {"QUEUE",5}  BACKEND");
        }

        while (true)
        {
            var reply = await client.GetAsync("api/status", "the status", cancellationToken);
            if (reply.Body.TryGetProperty("samples", out var samples) && samples.ValueKind == JsonValueKind.Array && samples.GetArrayLength() > 0)
            {
                var sample = samples[samples.GetArrayLength() - 1];
                var at = Printer.Text(sample, "at");
                // The app samples once a second; print each sample once, however often we poll.
                if (at != last)
                {
                    last = at;
                    printed++;
                    if (json)
                    {
                        printer.JsonLine(sample);
                    }
                    else
                    {
                        var time = DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture) : at;
                        var up = sample.TryGetProperty("backendUp", out var b) && b.ValueKind == JsonValueKind.True;
                        printer.Line(string.Create(CultureInfo.InvariantCulture,
                            $"{time,-8} {Int(sample, "requests"),6} {Int(sample, "upstreamCalls"),9} {Num(sample, "p50Ms"),7:0.#} {Num(sample, "p99Ms"),7:0.#} {Int(sample, "hits"),5} {Int(sample, "stale"),5} {Int(sample, "misses"),5} {Int(sample, "queueDepth"),5}  {(up ? "up" : "DOWN")}"));
                    }

                    if (printed >= count)
                    {
                        return ExitCodes.Success;
                    }
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(interval), cancellationToken);
        }
    }

    private static string Range(int page, int limit, int rows)
    {
        var first = ((long)(page - 1) * limit) + 1;
        return rows == 1 ? $"#{first}" : $"{first}-{first + rows - 1}";
    }

    private static string Plural(long n, string word) => n == 1 ? word : word + "s";

    private static long Int(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : 0;

    private static double Num(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.TryGetDouble(out var n) ? n : 0;
}
