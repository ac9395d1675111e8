using Pkgwat;

// A cold kernel lookup through the app can take the upstream's full ~3 s (more under faults); 30 s is
// generous for that and still fails in human time when the app hangs.
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Let RunAsync cancel the request and return its exit code instead of the runtime killing the process.
    e.Cancel = true;
    interrupt.Cancel();
};

return await PkgwatCommand.RunAsync(args, Console.Out, Console.Error, http, PkgwatEnvironment.FromProcess(), interrupt.Token);
