namespace Pkgwat;

/// <summary>What <c>pkgwat</c> takes from its surroundings; passed in so tests don't depend on the real environment.</summary>
/// <param name="DefaultUrl">The packages app when <c>--url</c> is not given, from <c>PKGWAT_URL</c>; <see langword="null"/> for the built-in default.</param>
/// <param name="Width">Columns the output may use.</param>
/// <param name="DefaultTimeout">Seconds to wait for the app when <c>--timeout</c> is not given, from <c>PKGWAT_TIMEOUT</c>.</param>
/// <param name="Ansi">Whether the output is a terminal that takes colours and styles; never when redirected.</param>
public sealed record PkgwatEnvironment(
    string? DefaultUrl = null, int Width = PkgwatEnvironment.DefaultWidth, string? DefaultTimeout = null, bool Ansi = false)
{
    /// <summary>The packages app when neither <c>--url</c> nor <c>PKGWAT_URL</c> says otherwise.</summary>
    public const string BuiltInUrl = "http://127.0.0.1:5080";

    /// <summary>The environment variable that overrides <see cref="BuiltInUrl"/>.</summary>
    public const string UrlVariable = "PKGWAT_URL";

    /// <summary>The environment variable that overrides <see cref="BuiltInTimeoutSeconds"/>.</summary>
    public const string TimeoutVariable = "PKGWAT_TIMEOUT";

    /// <summary>
    /// Longer than the app's own worst case (a 30 s tracker timeout plus up to 5 s waiting for another request's
    /// lock), so the app's 502 or 504 explanation arrives before pkgwat gives up on it.
    /// </summary>
    public const double BuiltInTimeoutSeconds = 45;

    /// <summary>Width when the output is not a terminal (piped into a file or another program).</summary>
    public const int DefaultWidth = 100;

    /// <summary>Narrowest output worth drawing; below this the summary column would be unreadable.</summary>
    public const int MinWidth = 40;

    /// <summary>Reads <c>PKGWAT_URL</c>, <c>PKGWAT_TIMEOUT</c> and the terminal of this process.</summary>
    public static PkgwatEnvironment FromProcess()
    {
        var url = Environment.GetEnvironmentVariable(UrlVariable);
        var timeout = Environment.GetEnvironmentVariable(TimeoutVariable);
        // NO_COLOR (no-color.org) turns styles off even on a terminal.
        var ansi = !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        return new PkgwatEnvironment(
            string.IsNullOrWhiteSpace(url) ? null : url,
            TerminalWidth(),
            string.IsNullOrWhiteSpace(timeout) ? null : timeout,
            ansi);
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
