using Spectre.Console;

namespace Dogpile.Cli;

/// <summary>
/// Where a command writes and how it asks: the process's console, or (in tests) writers and a scripted answer. Tables
/// and prompts go through Spectre.Console; JSON is written as plain text to <see cref="Out"/>.
/// </summary>
internal sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, bool isInteractive, Func<string, bool> confirm, Func<string, string?> environment, IAnsiConsole? ansi = null)
    {
        Out = output;
        Error = error;
        IsInteractive = isInteractive;
        Confirm = confirm;
        Environment = environment;
        Ansi = ansi ?? AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>Whether a person can answer a prompt: standard input and error are both a terminal.</summary>
    public bool IsInteractive { get; }

    /// <summary>Asks a yes/no question (on the terminal); only called when <see cref="IsInteractive"/>.</summary>
    public Func<string, bool> Confirm { get; }

    public Func<string, string?> Environment { get; }

    /// <summary>Tables and the live view.</summary>
    public IAnsiConsole Ansi { get; }

    public static CliConsole FromSystem()
    {
        // Prompts go to standard error, so `--json` output on standard output stays parseable even on a terminal.
        IAnsiConsole prompts = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        bool interactive = !Console.IsInputRedirected && !Console.IsErrorRedirected;
        return new CliConsole(
            Console.Out,
            Console.Error,
            interactive,
            question => prompts.Confirm(question, defaultValue: false),
            System.Environment.GetEnvironmentVariable,
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }));
    }
}
