namespace Dogpile.Testing;

/// <summary>How <see cref="ChildProcess"/> starts a process and what it keeps of it.</summary>
public sealed class ChildProcessOptions
{
    /// <summary>The name failure messages give the process.</summary>
    /// <value>The program's or the dll's file name when null.</value>
    public string? Name { get; init; }

    /// <summary>The working directory.</summary>
    /// <value>This process's when null.</value>
    public string? WorkingDirectory { get; init; }

    /// <summary>Environment variables set for the child (on top of this process's); a null value removes the variable.</summary>
    public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Whether <see cref="ChildProcess.Kill"/> and dispose kill the child's own children too.</summary>
    /// <value>True. A server that never forks may say false: a tree kill reads every process in /proc first, tens of
    /// milliseconds that block the caller's thread.</value>
    public bool KillProcessTree { get; init; } = true;

    /// <summary>
    /// Whether the child starts with SIGINT at its default disposition even when this process ignores it (a job a shell
    /// runs in the background with <c>&amp;</c> ignores SIGINT, its children inherit that, and a shell cannot trap a signal
    /// ignored on entry). For children that <see cref="ChildProcess.Interrupt"/> is meant to stop. Linux: started
    /// through <c>env --default-signal=INT</c>, which execs the program (same pid).
    /// </summary>
    /// <value>False.</value>
    public bool DefaultSigint { get; init; }

    /// <summary>Whether the child's output is also written to this console as it arrives (stdout to stdout, stderr to stderr).</summary>
    /// <value>False.</value>
    public bool EchoOutput { get; init; }

    /// <summary>How many of the last standard error lines are kept for <see cref="ChildProcess.StandardError"/> and failure messages.</summary>
    /// <value>200: enough for a stack trace, bounded so that a long run does not grow this process's memory.</value>
    public int StandardErrorLines { get; init; } = 200;
}
