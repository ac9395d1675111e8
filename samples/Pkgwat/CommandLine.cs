using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Reflection;

namespace Pkgwat;

/// <summary>The commands and options of <c>pkgwat</c>, built on System.CommandLine; the actions live in <see cref="PkgwatCommand"/>.</summary>
internal sealed class CommandLine
{
    public const int DefaultLimit = 25;

    /// <summary>The app's own cap on one page (<c>limit</c> 1..1000).</summary>
    public const int MaxLimit = 1000;

    /// <summary>The app's own cap on one stampede.</summary>
    public const int MaxStampede = 200;

    public static readonly string[] Statuses = ["open", "closed", "all"];

    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"The packages app [default: ${PkgwatEnvironment.UrlVariable}, else {PkgwatEnvironment.BuiltInUrl}]",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<double?> Timeout { get; } = new("--timeout")
    {
        Description = $"Seconds to wait for each answer [default: ${PkgwatEnvironment.TimeoutVariable}, else {PkgwatEnvironment.BuiltInTimeoutSeconds}: longer than the app's own tracker timeout, so its explanation arrives]",
        HelpName = "SECONDS",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the answer as JSON (with how the app's cache served it) instead of a table",
        Recursive = true,
    };

    public Option<int> Limit { get; } = new("--limit", "-l")
    {
        Description = $"Rows a page (1..{MaxLimit})",
        DefaultValueFactory = _ => DefaultLimit,
        HelpName = "N",
    };

    public Option<int> Page { get; } = new("--page", "-p")
    {
        Description = "Which page, from 1",
        DefaultValueFactory = _ => 1,
        HelpName = "N",
    };

    public Option<string> Status { get; } = new("--status", "-s")
    {
        Description = "Which bugs: open (not VERIFIED or CLOSED), closed or all",
        DefaultValueFactory = _ => "open",
    };

    public Option<int> Requests { get; } = new("--requests", "-n")
    {
        Description = $"Concurrent requests to fire (1..{MaxStampede})",
        DefaultValueFactory = _ => 50,
        HelpName = "N",
    };

    public Option<string?> StampedePackage { get; } = new("--package")
    {
        Description = "The package to stampede [default: one the app picks at random]",
        HelpName = "NAME",
    };

    public Option<double> Interval { get; } = new("--interval")
    {
        Description = "Seconds between samples",
        DefaultValueFactory = _ => 1,
        HelpName = "SECONDS",
    };

    public Option<int?> Count { get; } = new("--count")
    {
        Description = "Stop after this many samples [default: until Ctrl+C]",
        HelpName = "N",
    };

    public Argument<string> PackageName { get; } = new("package") { Description = "A package name, e.g. kernel" };

    public Argument<string> SearchText { get; } = new("text") { Description = "Text the package names contain (case-insensitive)" };

    public Argument<long> BugId { get; } = new("id") { Description = "A bug number" };

    public CommandLine()
    {
        Status.AcceptOnlyFromAmong(Statuses);
        Between(Limit, 1, MaxLimit);
        Between(Page, 1, int.MaxValue);
        Between(Requests, 1, MaxStampede);
        Timeout.Validators.Add(r =>
        {
            if (Token(r) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && !(t > 0 && t <= int.MaxValue / 1000))
            {
                r.AddError("--timeout is a number of seconds greater than 0");
            }
        });
        Interval.Validators.Add(r =>
        {
            if (Token(r) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && !(seconds is > 0 and <= 3600))
            {
                r.AddError("--interval is a number of seconds from above 0 to 3600");
            }
        });
        Count.Validators.Add(r =>
        {
            if (Token(r) is { } text && long.TryParse(text, CultureInfo.InvariantCulture, out var n) && n < 1)
            {
                r.AddError("--count is a number from 1");
            }
        });
        BugId.Validators.Add(r =>
        {
            if (Token(r) is { } text && long.TryParse(text, CultureInfo.InvariantCulture, out var n) && n < 1)
            {
                r.AddError("a bug id is a positive number");
            }
        });
    }

    /// <summary>The root command; <paramref name="run"/> is each command's action.</summary>
    public Command Build(Func<PkgwatCommandKind, ParseResult, CancellationToken, Task<int>> run)
    {
        // A plain Command named pkgwat rather than RootCommand, whose name is the host's (testhost under tests).
        var root = new Command("pkgwat", "Query the Fedora Packages web app (samples/Packages.Web) and see how its cache served each answer.")
        {
            new HelpOption { Recursive = true },
            new VersionOption { Action = new VersionAction() },
            Url,
            Timeout,
            Json,
        };

        Command Add(PkgwatCommandKind kind, string name, string description, params Symbol[] symbols)
        {
            var command = new Command(name, description);
            foreach (var symbol in symbols)
            {
                switch (symbol)
                {
                    case Option option:
                        command.Options.Add(option);
                        break;
                    case Argument argument:
                        command.Arguments.Add(argument);
                        break;
                }
            }

            command.SetAction((parse, ct) => run(kind, parse, ct));
            root.Subcommands.Add(command);
            return command;
        }

        Add(PkgwatCommandKind.Search, "search", "List the packages whose names contain the text", SearchText, Limit, Page);
        Add(PkgwatCommandKind.Info, "info", "Show a package's overview: summary, version, license, maintainer, upstream", PackageName);
        Add(PkgwatCommandKind.Bugs, "bugs", "List a package's bugs, a page at a time", PackageName, Status, Limit, Page);
        Add(PkgwatCommandKind.Bug, "bug", "Show one bug", BugId);
        Add(PkgwatCommandKind.Stampede, "stampede", "Demo: drop a package's bugs from the cache and fire concurrent requests at it; shows how few reached the tracker", Requests, StampedePackage);
        Add(PkgwatCommandKind.Watch, "watch", "Demo: print the app's live numbers (requests/s, tracker calls/s, latency, hit/stale/miss) every interval", Interval, Count);
        return root;
    }

    /// <summary>The app's base address with a trailing slash, so relative paths append instead of replacing the last segment.</summary>
    public static Uri? TryParseBaseUrl(string text)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
    }

    /// <summary>Seconds as typed in <c>PKGWAT_TIMEOUT</c>; null when not a positive number.</summary>
    public static double? TryParseSeconds(string text) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= int.MaxValue / 1000
            ? seconds
            : null;

    /// <summary>pkgwat's own version (the built-in one reports the entry assembly: the test host under tests).</summary>
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CommandLine).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>
    /// The value as typed, for validators: reading the converted value would throw when it does not convert
    /// ("--limit ten"), and that case already has System.CommandLine's own error.
    /// </summary>
    private static string? Token(SymbolResult result) => result.Tokens.Count == 1 ? result.Tokens[0].Value : null;

    private static void Between(Option<int> option, int min, int max) => option.Validators.Add(r =>
    {
        if (Token(r) is { } text && long.TryParse(text, CultureInfo.InvariantCulture, out var value) && (value < min || value > max))
        {
            r.AddError(max == int.MaxValue ? $"{option.Name} is a number from {min}" : $"{option.Name} is a number from {min} to {max}");
        }
    });

    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine("pkgwat " + Version);
            return ExitCodes.Success;
        }
    }
}

/// <summary>The commands <c>pkgwat</c> knows.</summary>
internal enum PkgwatCommandKind
{
    Search,
    Info,
    Bugs,
    Bug,
    Stampede,
    Watch,
}
