using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Packages.Upstream;
using Packages.Web.Caching;
using Packages.Web.Configuration;
using Packages.Web.Endpoints;
using Packages.Web.Metrics;
using Packages.Web.Upstream;

namespace Packages.Web;

/// <summary>Builds the packages web app; <c>Program</c> runs it, tests start it in-process on port 0.</summary>
public static class PackagesWebApp
{
    /// <summary>Where the app listens when neither <c>--urls</c> nor <c>Urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Builds the app from command-line arguments (plus environment and appsettings.json), checks every setting,
    /// and resolves the cache regions so a bad or unavailable backend fails here, not on the first request.
    /// Start it with <c>StartAsync</c>/<c>RunAsync</c>; that also starts the embedded simulator when
    /// <c>Upstream:Url</c> is not set.
    /// </summary>
    /// <param name="args">Command-line arguments, e.g. <c>--urls http://127.0.0.1:0 --Cache:ExpirationSeconds 5</c>.</param>
    /// <param name="configureServices">Last changes to the services (tests add an in-memory trace exporter).</param>
    /// <returns>The app, not yet started.</returns>
    /// <exception cref="StartupException">A setting is invalid or its backend is not available; the message names it.</exception>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(PackagesWebApp).Assembly.GetName().Name,

            // appsettings.json next to the binary, whatever the working directory (dotnet run, tests, a service).
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // The host logs a failed start with its stack trace; StartAsync and Program report it in one line instead.
        // Only until the app has started: later host errors (a faulted background service) keep their log. (This rule
        // replaces the configured level for the host's category, so it keeps the Information floor itself.)
        var started = new StrongBox<bool>();
        builder.Logging.AddFilter(HostCategory, level => level >= LogLevel.Information && (level < LogLevel.Error || started.Value));

        var settings = PackagesSettings.Load(builder.Configuration);
        CacheSetup.AddPackageCaching(builder.Services, settings);
        if (settings.Upstream.Url is null)
        {
            builder.Services.AddSingleton(new UpstreamOptions { DelayScale = settings.Upstream.DelayScale });
            builder.Services.AddSingleton<EmbeddedUpstream>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<EmbeddedUpstream>());
        }

        builder.Services.AddPackagesTelemetry(builder.Configuration, "packages-web", web: true);
        builder.Services.AddSingleton<RequestRecorder>();
        builder.Services.AddSingleton<DashboardSampler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DashboardSampler>());
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => started.Value = true);
        try
        {
            _ = app.Services.GetRequiredService<PackageCache>();
        }
        catch (ArgumentException ex)
        {
            // Region options the factory set are checked when the region is built: say so at startup.
            throw new StartupException($"The cache regions cannot be built: {ex.Message}", ex);
        }

        // Errors wrap everything; HEAD becomes GET before routing picks an endpoint (so UseRouting is explicit).
        app.UseErrorResponses();
        app.UseHeadAsGet();
        app.UseRequestRecorder();
        app.UseRouting();
        app.MapPackages();
        app.MapBugs();
        app.MapOps();
        app.MapDiagnostics();
        return app;
    }

    /// <summary>
    /// Starts the app (the listener, and the embedded simulator when there is one). An address already in use is a
    /// <see cref="StartupException"/> that says so and how to pick another port, not a stack trace.
    /// </summary>
    /// <param name="app">An app from <see cref="Build"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes once the app listens.</returns>
    /// <exception cref="StartupException">The address is taken.</exception>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex) when (ex.InnerException is AddressInUseException)
        {
            // Kestrel: "Failed to bind to address http://127.0.0.1:5080: address already in use."
            // The server forgets its addresses when binding fails: name the configured ones.
            var urls = app.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : DefaultUrl;
            throw new StartupException(
                $"{urls}: the address is already in use (another process listens on that port); pick another port with --urls, e.g. --urls {OtherPort(urls.Split(';')[0])}",
                ex);
        }
    }

    /// <summary>The address with the next port, as an example of what to pass instead.</summary>
    private static string OtherPort(string url) =>
        Uri.TryCreate(url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Port is > 0 and < 65535
            ? new UriBuilder(uri) { Port = uri.Port + 1 }.Uri.GetLeftPart(UriPartial.Authority)
            : "http://127.0.0.1:5081";

    /// <summary>The address the started app listens on, e.g. <c>http://127.0.0.1:5080/</c> (the real port when bound to 0).</summary>
    /// <param name="app">A started app.</param>
    /// <returns>The first bound address, ending in a slash.</returns>
    public static Uri GetAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new Uri(address.TrimEnd('/') + "/");
    }

    /// <summary>Where the bug tracker is: the configured URL, or the embedded simulator once started.</summary>
    /// <param name="app">A started app.</param>
    /// <returns>The tracker's base address.</returns>
    public static Uri? GetUpstreamAddress(WebApplication app) =>
        app?.Services.GetRequiredService<UpstreamLocation>().Address;
}
