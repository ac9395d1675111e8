namespace Pkgwat;

/// <summary>What <c>pkgwat</c> exits with, so scripts can tell "fix your command line" from "try again later".</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The request failed: app unreachable, unknown package, bad answer, or a search with no match.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong; usage was printed.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;
}
