using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Packages.Web.Configuration;

namespace Packages.Web;

/// <summary>
/// OpenTelemetry for the web app and the worker: every Dogpile meter and activity source, runtime metrics, ASP.NET Core
/// in the web app, <c>/metrics</c> in Prometheus format (web app), and OTLP when <c>Otel:Endpoint</c> is set.
/// </summary>
public static class Observability
{
    /// <summary>The configuration key of the OTLP endpoint (<c>--Otel:Endpoint http://collector:4317</c>).</summary>
    public const string EndpointKey = "Otel:Endpoint";

    /// <summary>The name of the OTLP exporters' options (both signals share them).</summary>
    public const string OtlpOptionsName = "packages";

    /// <summary>The meters Dogpile's packages publish: core (regions), Redis (backend, queue, worker), memcached.</summary>
    public static readonly IReadOnlyList<string> DogpileMeters = ["Dogpile", "Dogpile.Redis", "Dogpile.Memcached"];

    /// <summary>The activity sources of Dogpile's packages.</summary>
    public static readonly IReadOnlyList<string> DogpileSources = ["Dogpile", "Dogpile.Redis", "Dogpile.Memcached"];

    /// <summary>Adds the OpenTelemetry SDK with Dogpile's meters and sources.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configuration">Read for <see cref="EndpointKey"/>.</param>
    /// <param name="serviceName">The resource's <c>service.name</c>: <c>packages-web</c> or <c>packages-worker</c>.</param>
    /// <param name="web">Whether this is the web app: ASP.NET Core instrumentation and the Prometheus exporter.</param>
    /// <returns>The services.</returns>
    /// <exception cref="StartupException"><see cref="EndpointKey"/> is not an absolute http(s) URL.</exception>
    public static IServiceCollection AddPackagesTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName, bool web)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Uri? otlp = OtlpEndpoint(configuration);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. DogpileMeters]).AddRuntimeInstrumentation();
                if (web)
                {
                    metrics.AddAspNetCoreInstrumentation().AddPrometheusExporter();
                }

                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(OtlpOptionsName, o => o.Endpoint = otlp);
                }
            })
            .WithTracing(tracing =>
            {
                // System.Net.Http: the calls to the bug tracker, so a trace shows what a creator waited for.
                tracing.AddSource([.. DogpileSources]).AddSource("System.Net.Http");
                if (web)
                {
                    // Scrapes and the status page's once-a-second polling would drown the page requests.
                    tracing.AddAspNetCoreInstrumentation(o => o.Filter = context =>
                        !context.Request.Path.StartsWithSegments("/metrics", StringComparison.Ordinal)
                        && !context.Request.Path.StartsWithSegments("/status/charts", StringComparison.Ordinal)
                        && !context.Request.Path.StartsWithSegments("/api/status", StringComparison.Ordinal));
                }

                if (otlp is not null)
                {
                    tracing.AddOtlpExporter(OtlpOptionsName, o => o.Endpoint = otlp);
                }
            });
        return services;
    }

    /// <summary><c>Otel:Endpoint</c>, checked at startup like every other setting.</summary>
    private static Uri? OtlpEndpoint(IConfiguration configuration)
    {
        string? value = configuration[EndpointKey];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new StartupException($"{EndpointKey} '{value}' is not an absolute http or https URL (e.g. http://127.0.0.1:4317 for OTLP over gRPC).");
    }
}
