using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dogpile.Memcached;
using Dogpile.Redis;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Dogpile.Cli;

/// <summary>The <c>dogpile</c> command tree, its shared options, and how errors become messages and exit codes.</summary>
internal static class DogpileCli
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    // One line per object (watch mode); built once, as options cache their converters.
    private static readonly JsonSerializerOptions JsonCompact = new(Json) { WriteIndented = false };

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        RootCommand root = Build(console);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError error in parsed.Errors)
            {
                await console.Error.WriteLineAsync(error.Message);
            }

            await console.Error.WriteLineAsync("Run 'dogpile --help' (or the command with --help) for usage.");
            return ExitCodes.Usage;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("Cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception ex)
        {
            // Unexpected: one line an operator can report, not a stack trace in the middle of an incident.
            await console.Error.WriteLineAsync($"dogpile failed: {ex.GetType().Name}: {ex.Message}");
            return ExitCodes.Failed;
        }
    }

    public static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand($"""
            dogpile: inspect and operate Dogpile's Redis refresh queue, dead letters, locks and keys, and its memcached keys.
            Every command takes --json; state-changing commands ask for confirmation on a terminal and need --yes elsewhere.
            {ExitCodes.Description}
            """);
        var shared = new SharedOptions();
        root.Options.Add(shared.Json);
        root.Options.Add(shared.Yes);
        root.Subcommands.Add(RedisCommands.Build(console, shared));
        root.Subcommands.Add(MemcachedCommands.Build(console, shared));
        return root;
    }


    public static async Task WriteJsonAsync(CliConsole console, object value, bool indented = true)
    {
        string text = JsonSerializer.Serialize(value, indented ? Json : JsonCompact);
        await console.Out.WriteLineAsync(text);
    }

    /// <summary>
    /// Whether a state-changing command may go ahead: <c>--yes</c>, or a "yes" at the terminal prompt. Without a
    /// terminal and without <c>--yes</c> it refuses, so a script never changes state by accident.
    /// </summary>
    public static async Task<bool> ConfirmAsync(ParseResult parsed, SharedOptions shared, CliConsole console, string question)
    {
        if (parsed.GetValue(shared.Yes))
        {
            return true;
        }

        if (!console.IsInteractive)
        {
            await console.Error.WriteLineAsync($"Refusing to {question.TrimEnd('?')} without a terminal to confirm on: pass --yes.");
            return false;
        }

        if (console.Confirm(question))
        {
            return true;
        }

        await console.Error.WriteLineAsync("Not confirmed: nothing was changed.");
        return false;
    }

    /// <summary>Runs a command body, turning the failures an operator can act on into one clear line and an exit code.</summary>
    public static async Task<int> GuardAsync(CliConsole console, string target, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (DogpileRedisUnavailableException ex)
        {
            await console.Error.WriteLineAsync($"Cannot reach Redis at {target}: {ex.Message}");
            return ExitCodes.Unavailable;
        }
        catch (MemcachedException ex)
        {
            await console.Error.WriteLineAsync($"Cannot reach memcached at {target}: {ex.Message}");
            return ExitCodes.Unavailable;
        }
        catch (StackExchange.Redis.RedisConnectionException ex)
        {
            await console.Error.WriteLineAsync($"Cannot reach Redis at {target}: {ex.Message}");
            return ExitCodes.Unavailable;
        }
        catch (StackExchange.Redis.RedisServerException ex)
        {
            await console.Error.WriteLineAsync($"Redis at {target} refused the command: {ex.Message}");
            return ExitCodes.Failed;
        }
        catch (ArgumentException ex)
        {
            await console.Error.WriteLineAsync(ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal));
            return ExitCodes.Usage;
        }
    }

    public static IRenderable[] Cells(params string?[] values) => [.. values.Select(v => (IRenderable)new Text(v ?? "-"))];

    public static Table NewTable(params string[] columns)
    {
        var table = new Table { Border = TableBorder.Rounded };
        foreach (string column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)));
        }

        return table;
    }

    public static string Duration(TimeSpan? value)
    {
        if (value is not { } d)
        {
            return "-";
        }

        if (d < TimeSpan.Zero)
        {
            return "-" + Duration(-d);
        }

        return d.TotalSeconds switch
        {
            < 1 => string.Create(CultureInfo.InvariantCulture, $"{d.TotalMilliseconds:0}ms"),
            < 60 => string.Create(CultureInfo.InvariantCulture, $"{d.TotalSeconds:0.0}s"),
            < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes}m {d.Seconds}s"),
            < 86400 => string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours}h {d.Minutes}m"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalDays}d {d.Hours}h"),
        };
    }

    /// <summary>A UTC time with how far it is from now: "2025-01-01 10:00:00.000Z (in 4.0s)".</summary>
    public static string Time(DateTimeOffset? value, DateTimeOffset now)
    {
        if (value is not { } t)
        {
            return "-";
        }

        TimeSpan delta = t - now;
        string relative = delta >= TimeSpan.Zero ? $"in {Duration(delta)}" : $"{Duration(-delta)} ago";
        return string.Create(CultureInfo.InvariantCulture, $"{t.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z ({relative})");
    }
}

/// <summary>The options every command takes (one set per command tree: System.CommandLine symbols belong to one parent tree).</summary>
internal sealed class SharedOptions
{
    public Option<bool> Json { get; } = new("--json") { Description = "Write the result as JSON (one object; watch writes one object per line).", Recursive = true };

    public Option<bool> Yes { get; } = new("--yes", "-y") { Description = "Do a state-changing command without asking (needed when there is no terminal).", Recursive = true };
}
