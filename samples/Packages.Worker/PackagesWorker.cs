using Dogpile.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Packages.Web;
using Packages.Web.Caching;
using Packages.Web.Configuration;

namespace Packages.Worker;

/// <summary>Builds the worker host; <c>Program</c> runs it, tests start it in-process beside a web app.</summary>
public static class PackagesWorker
{
    /// <summary>
    /// Builds the worker from command-line arguments (same <c>Cache:</c>, <c>Upstream:</c> and <c>Otel:</c> settings as
    /// the web instances it serves) and registers the cached functions that jobs name, before the first job is read.
    /// </summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="configureServices">Last changes to the services (tests add an in-memory trace exporter).</param>
    /// <returns>The host, not yet started.</returns>
    /// <exception cref="StartupException">A setting is invalid or missing; the message names it.</exception>
    public static IHost Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(args);
        var settings = PackagesSettings.Load(builder.Configuration);
        if (settings.Cache.Backend != CacheBackendKind.Redis || settings.Cache.Refresh != RefreshMode.Queue)
        {
            throw new StartupException("The worker drains the Redis refresh queue: run it with --Cache:Backend redis --Cache:Refresh queue, like the web instances it serves.");
        }

        if (settings.Upstream.Url is null)
        {
            throw new StartupException("Upstream:Url is required: the worker must refresh from the same bug tracker as the web instances (an embedded simulator would be a different one).");
        }

        CacheSetup.AddPackageCaching(builder.Services, settings with { WorkerEnabled = true });

        // Its spans continue the traces of the page requests that enqueued its jobs; with no web server of its own,
        // its metrics leave by OTLP (Otel:Endpoint) only.
        builder.Services.AddPackagesTelemetry(builder.Configuration, "packages-worker", web: false);
        configureServices?.Invoke(builder.Services);
        IHost host = builder.Build();
        _ = host.Services.GetRequiredService<PackageCache>();
        return host;
    }

    /// <summary>The worker's consumer name in the queue's group.</summary>
    /// <param name="host">A host from <see cref="Build"/>.</param>
    /// <returns>The name.</returns>
    public static string ConsumerName(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.Services.GetRequiredService<IOptions<RedisRefreshWorkerOptions>>().Value.ConsumerName!;
    }
}
