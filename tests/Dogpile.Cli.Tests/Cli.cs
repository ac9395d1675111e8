using System.Text.Json;

namespace Dogpile.Cli.Tests;

/// <summary>What one run of the CLI wrote and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public JsonElement Json => JsonDocument.Parse(Out).RootElement;

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";
}

/// <summary>Runs <c>dogpile</c> in process, with its output captured, no terminal unless asked, and a scripted answer to prompts.</summary>
internal static class Cli
{
    public static async Task<CliResult> RunAsync(string[] args, bool interactive = false, bool answer = false, IReadOnlyDictionary<string, string>? environment = null, List<string>? asked = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CliConsole(
            output,
            error,
            interactive,
            question =>
            {
                asked?.Add(question);
                return answer;
            },
            name => environment is not null && environment.TryGetValue(name, out string? value) ? value : null);
        int code = await DogpileCli.RunAsync(args, console, CancellationToken.None);
        return new CliResult(code, output.ToString(), error.ToString());
    }
}
