using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Packages.Web.Configuration;
using Packages.Worker;

// The seed's worker daemon: takes refresh jobs from the Redis stream one at a time (up to Worker:MaxConcurrency),
// recomputes the value from the bug tracker, writes it under the job's fenced lock, releases the lock, acknowledges.
// Same Cache:/Upstream:/Otel: settings as the web instances:
//   dotnet run --project samples/Packages.Worker -- --Cache:Backend redis --Cache:Connection 127.0.0.1:6379 \
//       --Cache:Refresh queue --Upstream:Url http://127.0.0.1:5081/ [--Otel:Endpoint http://127.0.0.1:4317]
IHost host;
try
{
    host = PackagesWorker.Build(args);
}
catch (StartupException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    return 2;
}

using (host)
{
    await host.StartAsync();
    var endpoints = host.Services.GetRequiredService<PackagesSettings>().Cache.Endpoints;
    Console.WriteLine($"Dogpile packages worker {PackagesWorker.ConsumerName(host)}: draining the refresh queue at {string.Join(",", endpoints)}");
    await host.WaitForShutdownAsync();
}

return 0;
