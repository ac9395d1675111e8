using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Packages.Upstream;

/// <summary>Starts the slow bug-tracker simulator inside another process (the web app, tests) on a free loopback port.</summary>
public static class UpstreamServer
{
    /// <summary>Starts the simulator on <c>127.0.0.1</c> with a free port; read the port from <see cref="RunningUpstream.BaseAddress"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="UpstreamOptions.DelayScale"/> is negative or not finite.</exception>
    public static Task<RunningUpstream> StartAsync(UpstreamOptions options, CancellationToken cancellationToken) =>
        StartAsync(options, TimeProvider.System, cancellationToken);

    /// <summary>Same, with the clock the latency runs on, so tests can drive it with a fake one.</summary>
    internal static async Task<RunningUpstream> StartAsync(UpstreamOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(UpstreamServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // The host process owns appsettings.json, environment variables and the console. Without this the
        // simulator would pick up the host's Kestrel endpoints or URLS and try to bind the host's own port.
        var applicationName = builder.Environment.ApplicationName;
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(
        [
            // Host settings the builder already fixed; dropping them would read as an unsupported change at Build().
            new(WebHostDefaults.ApplicationKey, applicationName),
            new(WebHostDefaults.ContentRootKey, builder.Environment.ContentRootPath),
            new(WebHostDefaults.EnvironmentKey, builder.Environment.EnvironmentName),
            new(WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:0"),
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        builder.Services.AddSingleton(time);
        builder.Services.AddUpstream(options);

        var app = builder.Build();
        app.MapUpstream();
        try
        {
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
                .Addresses.First();
            return new RunningUpstream(app, new Uri(address.TrimEnd('/') + "/"));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }
}
