using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Dogpile.Redis;
using Packages.Web.Caching;
using Packages.Web.Configuration;

// The seed's worker daemon: takes refresh jobs from the Redis stream one at a time (up to Worker:MaxConcurrency),
// recomputes the value from the bug tracker, writes it under the job's fenced lock, releases the lock, acknowledges.
// Same Cache:/Upstream: settings as the web instances:
//   dotnet run --project samples/Packages.Worker -- --Cache:Backend redis --Cache:Connection 127.0.0.1:6379 \
//       --Cache:Refresh queue --Upstream:Url http://127.0.0.1:5081/
var builder = Host.CreateApplicationBuilder(args);
PackagesSettings settings;
try
{
    settings = PackagesSettings.Load(builder.Configuration);
    if (settings.Cache.Backend != CacheBackendKind.Redis || settings.Cache.Refresh != RefreshMode.Queue)
    {
        throw new StartupException("The worker drains the Redis refresh queue: run it with --Cache:Backend redis --Cache:Refresh queue, like the web instances it serves.");
    }

    if (settings.Upstream.Url is null)
    {
        throw new StartupException("Upstream:Url is required: the worker must refresh from the same bug tracker as the web instances (an embedded simulator would be a different one).");
    }

    CacheSetup.AddPackageCaching(builder.Services, settings with { WorkerEnabled = true });
}
catch (StartupException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    return 2;
}

using IHost host = builder.Build();

// Registers the cached functions ("bugs", "packages") that jobs name, before the first job is read.
_ = host.Services.GetRequiredService<PackageCache>();
await host.StartAsync();
var worker = host.Services.GetRequiredService<RedisRefreshWorker>();
Console.WriteLine($"Dogpile packages worker {worker.ConsumerName}: draining the refresh queue at {string.Join(",", settings.Cache.Endpoints)}");
await host.WaitForShutdownAsync();
return 0;
