namespace Pkgwat;

/// <summary>What <c>pkgwat</c> takes from its surroundings; passed in so tests don't depend on the real environment.</summary>
/// <param name="DefaultUrl">The packages app when <c>--url</c> is not given, from <c>PKGWAT_URL</c>; <see langword="null"/> for the built-in default.</param>
/// <param name="Width">Columns the bug table may use.</param>
public sealed record PkgwatEnvironment(string? DefaultUrl = null, int Width = PkgwatEnvironment.DefaultWidth)
{
    /// <summary>The packages app when neither <c>--url</c> nor <c>PKGWAT_URL</c> says otherwise.</summary>
    public const string BuiltInUrl = "http://127.0.0.1:5080";

    /// <summary>The environment variable that overrides <see cref="BuiltInUrl"/>.</summary>
    public const string UrlVariable = "PKGWAT_URL";

    /// <summary>Table width when the output is not a terminal (piped into a file or another program).</summary>
    public const int DefaultWidth = 100;

    /// <summary>Narrowest table worth drawing; below this the summary column would be unreadable.</summary>
    public const int MinWidth = 40;

    /// <summary>Reads <c>PKGWAT_URL</c> and the terminal width of this process.</summary>
    public static PkgwatEnvironment FromProcess()
    {
        var url = Environment.GetEnvironmentVariable(UrlVariable);
        return new PkgwatEnvironment(string.IsNullOrWhiteSpace(url) ? null : url, TerminalWidth());
    }

    private static int TerminalWidth()
    {
        if (Console.IsOutputRedirected)
        {
            return DefaultWidth;
        }

        try
        {
            // Leave the last column free: writing into it makes some terminals wrap an otherwise full line.
            return Math.Max(MinWidth, Console.WindowWidth - 1);
        }
        catch (IOException)
        {
            return DefaultWidth;
        }
    }
}
