using Dogpile.Cli;

// Ctrl+C cancels the running command (watch ends cleanly; a half-done replay reports what it did).
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await DogpileCli.RunAsync(args, CliConsole.FromSystem(), cancel.Token);
