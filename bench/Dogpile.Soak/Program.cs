using System.Globalization;
using Dogpile.Soak;

// Dogpile.Soak [--quick] [--modes memory,redis] [--duration s] [--rate n] ... [--doc docs/benchmarks.md]
//   Soaks the showcase in each mode (bench/soak.sh builds Release and passes the doc), prints the section and, with
//   --doc, replaces the soak section of that document. Exit code 0 when every series is flat and the embedded default's
//   heap stays within its bound of the live data, 3 when something grows, 2 for bad arguments, 1 when a run failed.
// Numbers in the document and on the console read the same on every machine.
CultureInfo.CurrentCulture = CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
SoakSettings settings;
try
{
    settings = SoakSettings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(SoakSettings.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Stop the load and let the finally blocks kill the app, the worker and redis-server.
    e.Cancel = true;
    cancel.Cancel();
};

var results = new List<ModeResult>();
foreach (SoakMode mode in settings.Modes)
{
    try
    {
        results.Add(await SoakRun.RunAsync(mode, settings, cancel.Token));
    }
    catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or OperationCanceledException)
    {
        Console.Error.WriteLine($"error: the {mode} soak failed: {e.Message}");
        return 1;
    }
}

string section = SoakReport.Render(settings, results);
Console.WriteLine();
Console.WriteLine(section);
if (settings.Doc is not null)
{
    SoakReport.WriteInto(settings.Doc, section);
    Console.WriteLine($"wrote the soak section of {settings.Doc}");
}

var growing = results.SelectMany(r => r.Verdicts.Where(v => !v.Flat).Select(v => $"{r.Mode}: {v.Series.Name}"))
    .Concat(results.Where(r => r.Live is { } live && !SoakReport.WithinLiveBound(live, r.Verdicts.Single(v => v.Series.Name == "heap after GC MB").Last))
        .Select(r => $"{r.Mode}: heap beyond {SoakReport.LiveMultipleBound}× the live data"))
    .ToList();
Console.WriteLine(growing.Count == 0 ? "verdict: every series flat" : "verdict: growing: " + string.Join("; ", growing));
return growing.Count == 0 ? 0 : 3;
