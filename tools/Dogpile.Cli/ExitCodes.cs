namespace Dogpile.Cli;

/// <summary>The exit codes of every <c>dogpile</c> command (documented in docs/operations.md and <c>dogpile --help</c>).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected error (the message says what).</summary>
    public const int Failed = 1;

    /// <summary>A wrong command line: unknown command or option, missing argument, malformed id.</summary>
    public const int Usage = 2;

    /// <summary>No such key, or no dead letter with that id.</summary>
    public const int NotFound = 3;

    /// <summary>No trace of the region in Redis (check the name, or the key prefix).</summary>
    public const int UnknownRegion = 4;

    /// <summary>The server could not be reached or did not answer in time (wrong connection string, down).</summary>
    public const int Unavailable = 5;

    /// <summary>A state-changing command was not confirmed: declined at the prompt, or run without a terminal and without --yes.</summary>
    public const int NotConfirmed = 6;

    /// <summary>Cancelled (Ctrl+C).</summary>
    public const int Cancelled = 130;

    public const string Description = """
        Exit codes: 0 done; 1 unexpected error; 2 wrong command line; 3 no such key or dead letter;
        4 unknown region; 5 server unreachable or too slow; 6 not confirmed (declined, or no terminal and no --yes); 130 cancelled.
        """;
}
