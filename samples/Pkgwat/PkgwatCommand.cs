namespace Pkgwat;

/// <summary>The whole CLI behind <c>Main</c>: parse, call the packages app, print, and choose the exit code.</summary>
public static class PkgwatCommand
{
    /// <summary>Runs <c>pkgwat</c> with <paramref name="args"/>; returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The command line without the program name, e.g. <c>["bugs", "kernel", "--url", "http://127.0.0.1:5080"]</c>.</param>
    /// <param name="output">Where results go (the table, matching names).</param>
    /// <param name="error">Where usage and <c>error: ...</c> lines go.</param>
    /// <param name="http">Client for the packages app; its timeout is the request's timeout.</param>
    /// <param name="environment"><c>PKGWAT_URL</c> and terminal width; <see langword="null"/> for the built-in defaults.</param>
    /// <param name="cancellationToken">Cancels the request (Ctrl+C).</param>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter output,
        TextWriter error,
        HttpClient http,
        PkgwatEnvironment? environment = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(http);
        environment ??= new PkgwatEnvironment();

        var command = CommandLine.TryParse(args, out var problem);
        if (command is null)
        {
            await error.WriteLineAsync($"error: {problem}");
            await error.WriteLineAsync(CommandLine.Usage);
            return ExitCodes.Usage;
        }

        if (command.Kind == CommandKind.Help)
        {
            await output.WriteLineAsync(CommandLine.Usage);
            return ExitCodes.Success;
        }

        var urlText = command.Url ?? environment.DefaultUrl ?? PkgwatEnvironment.BuiltInUrl;
        if (CommandLine.TryParseBaseUrl(urlText) is not { } baseUrl)
        {
            var source = command.Url is null && environment.DefaultUrl is not null ? PkgwatEnvironment.UrlVariable : "--url";
            await error.WriteLineAsync($"error: {source} must be an absolute http:// or https:// URL, got '{urlText}'");
            return ExitCodes.Usage;
        }

        var client = new PackagesClient(http, baseUrl);
        try
        {
            return command.Kind == CommandKind.Bugs
                ? await BugsAsync(client, command.Argument, output, environment.Width, cancellationToken)
                : await SearchAsync(client, command.Argument, output, error, cancellationToken);
        }
        catch (PkgwatException ex)
        {
            await error.WriteLineAsync("error: " + ex.Message);
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("interrupted");
            return ExitCodes.Interrupted;
        }
    }

    private static async Task<int> BugsAsync(PackagesClient client, string package, TextWriter output, int width, CancellationToken cancellationToken)
    {
        var list = await client.GetBugsAsync(package, cancellationToken);
        BugTable.Write(output, list, width);
        return ExitCodes.Success;
    }

    private static async Task<int> SearchAsync(PackagesClient client, string text, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var names = await client.SearchAsync(text, cancellationToken);
        foreach (var name in names)
        {
            await output.WriteLineAsync(BugTable.Clean(name));
        }

        if (names.Count > 0)
        {
            return ExitCodes.Success;
        }

        // Like grep: nothing on stdout and a non-zero exit, so `pkgwat search x && ...` reads naturally.
        await error.WriteLineAsync($"no packages match '{text}'");
        return ExitCodes.Failure;
    }
}
