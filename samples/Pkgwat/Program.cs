using Pkgwat;

// No HttpClient timeout: pkgwat applies its own (--timeout, PKGWAT_TIMEOUT, default 45 s) to each request.
using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Let RunAsync cancel the request and return its exit code instead of the runtime killing the process.
    e.Cancel = true;
    interrupt.Cancel();
};

return await PkgwatCommand.RunAsync(args, Console.Out, Console.Error, http, PkgwatEnvironment.FromProcess(), interrupt.Token);
