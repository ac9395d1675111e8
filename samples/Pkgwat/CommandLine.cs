namespace Pkgwat;

internal enum CommandKind
{
    Help,
    Bugs,
    Search,
}

/// <summary>A parsed command line: what to do, to what, and where the packages app is.</summary>
internal sealed record ParsedCommand(CommandKind Kind, string Argument, string? Url);

/// <summary>
/// A deliberately small parser: two commands with one argument each and one option, anywhere on the line.
/// System.CommandLine would be the usual choice, but it is not served to this build.
/// </summary>
internal static class CommandLine
{
    public const string Usage = """
        usage: pkgwat bugs <package> [--url URL]
               pkgwat search <text> [--url URL]

        Query the Fedora Packages web app.

          bugs <package>   list a package's bugs and whether they came from the app's cache
          search <text>    list package names containing <text> (case-insensitive), one per line
          --url URL        the packages app (default: $PKGWAT_URL, else http://127.0.0.1:5080)
          -h, --help       show this help

        exit codes: 0 ok, 1 request failed or nothing matched, 2 bad usage
        """;

    /// <summary>Parses <paramref name="args"/>; on failure returns <see langword="null"/> and says why in <paramref name="problem"/>.</summary>
    public static ParsedCommand? TryParse(IReadOnlyList<string> args, out string? problem)
    {
        problem = null;
        string? url = null;
        var positional = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                return new ParsedCommand(CommandKind.Help, "", url);
            }

            if (arg == "--url" || arg.StartsWith("--url=", StringComparison.Ordinal))
            {
                var value = arg == "--url" ? (i + 1 < args.Count ? args[++i] : null) : arg["--url=".Length..];
                if (string.IsNullOrWhiteSpace(value))
                {
                    problem = "--url needs a value, e.g. --url http://127.0.0.1:5080";
                    return null;
                }

                url = value;
            }
            else if (arg.Length > 1 && arg[0] == '-')
            {
                problem = $"unknown option '{arg}'";
                return null;
            }
            else
            {
                positional.Add(arg);
            }
        }

        if (positional.Count == 0)
        {
            problem = "missing command";
            return null;
        }

        var command = positional[0];
        if (command == "help")
        {
            return new ParsedCommand(CommandKind.Help, "", url);
        }

        CommandKind? kind = command switch
        {
            "bugs" => CommandKind.Bugs,
            "search" => CommandKind.Search,
            _ => null,
        };
        if (kind is null)
        {
            problem = $"unknown command '{command}'";
            return null;
        }

        var what = kind == CommandKind.Bugs ? "a package name" : "the text to search for";
        if (positional.Count < 2 || string.IsNullOrWhiteSpace(positional[1]))
        {
            problem = $"'{command}' needs {what}";
            return null;
        }

        if (positional.Count > 2)
        {
            problem = $"'{command}' takes one argument, got {positional.Count - 1}";
            return null;
        }

        return new ParsedCommand(kind.Value, positional[1], url);
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
}
