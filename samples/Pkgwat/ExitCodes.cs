namespace Pkgwat;

/// <summary>What <c>pkgwat</c> exits with, so scripts can tell "fix your command line" from "try again later".</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>Nothing to show: no such package or bug, or a search that matched nothing.</summary>
    public const int Failure = 1;

    /// <summary>The command line (or <c>PKGWAT_URL</c>, <c>PKGWAT_TIMEOUT</c>) was wrong; the reason was printed.</summary>
    public const int Usage = 2;

    /// <summary>The app answered with an error (e.g. 502: the tracker failed and nothing is cached) or an unreadable answer; its explanation was printed.</summary>
    public const int AppError = 3;

    /// <summary>The app could not be reached, or did not answer within the timeout.</summary>
    public const int Unreachable = 4;

    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;
}
