using Pkgwat;

namespace Packages.Tests.Pkgwat;

/// <summary>The result of one <c>pkgwat</c> run: exit code and everything written to each stream.</summary>
internal sealed record PkgwatRun(int ExitCode, string Output, string Error)
{
    public string[] OutputLines => Output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Runs pkgwat in-process, as <c>Program.cs</c> does: an HttpClient without a timeout of its own (pkgwat applies <c>--timeout</c>).</summary>
    public static async Task<PkgwatRun> RunAsync(string[] args, PkgwatEnvironment? environment = null, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await PkgwatCommand.RunAsync(args, output, error, http, environment ?? new PkgwatEnvironment(Width: 80), cancellationToken);
        return new PkgwatRun(exitCode, output.ToString(), error.ToString());
    }
}
