using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Packages.Web;
using Packages.Web.Configuration;

namespace Packages.Tests.Web;

public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("redis", "Redis")]
    [InlineData("memcached", "Memcached")]
    public async Task Build_WithADistributedBackend_WiresItIntoEveryRegion(string backend, string typeName)
    {
        // Connections open lazily: building needs no server (the distributed tests run against real ones).
        await using var app = PackagesWebApp.Build(["--Cache:Backend", backend, "--Cache:Connection", "127.0.0.1:1"]);
        var cache = app.Services.GetRequiredService<Packages.Web.Caching.PackageCache>();

        Assert.Contains(typeName, cache.Bugs.Backend.GetType().Name, StringComparison.Ordinal);
        Assert.Contains(typeName, cache.Packages.Backend.GetType().Name, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Cache:Backend", "mongodb", "Cache:Backend must be one of memory, redis, memcached; got 'mongodb'")]
    [InlineData("Cache:Refresh", "sometimes", "Cache:Refresh must be one of inprocess, queue")]
    [InlineData("Cache:ExpirationSeconds", "0", "Cache:ExpirationSeconds must be a number of seconds greater than 0")]
    [InlineData("Cache:ExpirationSeconds", "soon", "Cache:ExpirationSeconds must be a number of seconds")]
    [InlineData("Cache:EarlyRefreshRatio", "1.5", "Cache:EarlyRefreshRatio must be a number from 0 (off) to below 1")]
    [InlineData("Worker:Enabled", "maybe", "Worker:Enabled must be true or false")]
    [InlineData("Upstream:Url", "ftp://example", "Upstream:Url must be an absolute http:// or https:// URL")]
    [InlineData("Upstream:DelayScale", "-1", "Upstream:DelayScale must be a finite number >= 0")]
    [InlineData("Cache:Refresh", "queue", "Cache:Refresh queue needs Cache:Backend redis")]
    [InlineData("Worker:Enabled", "true", "Worker:Enabled true needs Cache:Refresh queue")]
    [InlineData("Otel:Endpoint", "collector:4317", "Otel:Endpoint 'collector:4317' is not an absolute http or https URL")]
    [InlineData("Otel:Endpoint", "ftp://collector", "Otel:Endpoint 'ftp://collector' is not an absolute http or https URL")]
    public void Build_WithAnInvalidSetting_FailsNamingIt(string key, string value, string expected)
    {
        var error = Assert.Throws<StartupException>(() => PackagesWebApp.Build([$"--{key}", value]));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task Build_WithAnOtlpEndpoint_ExportsTracesAndMetricsThere()
    {
        await using var app = PackagesWebApp.Build(["--urls", "http://127.0.0.1:0", "--Upstream:DelayScale", "0", "--Otel:Endpoint", "http://127.0.0.1:4317"]);

        // The exporters' options (shared by both signals) point there, and the providers that use them resolve.
        var exporter = app.Services.GetRequiredService<IOptionsMonitor<OtlpExporterOptions>>().Get(Observability.OtlpOptionsName);
        Assert.Equal(new Uri("http://127.0.0.1:4317"), exporter.Endpoint);
        Assert.NotNull(app.Services.GetService<TracerProvider>());
        Assert.NotNull(app.Services.GetService<MeterProvider>());
    }

    [Fact]
    public void Build_WithRedisButNoConnection_AsksForOne()
    {
        var error = Assert.Throws<StartupException>(() => PackagesWebApp.Build(["--Cache:Backend", "redis"]));

        Assert.Contains("Cache:Connection is required with Cache:Backend redis", error.Message);
    }

    [Fact]
    public void Build_WithABadConnection_NamesIt()
    {
        var error = Assert.Throws<StartupException>(() => PackagesWebApp.Build(["--Cache:Backend", "redis", "--Cache:Connection", "localhost"]));

        Assert.Contains("Cache:Connection must be host:port[,host:port]", error.Message);
    }

    [Fact]
    public async Task Build_WithDefaults_UsesTheMemoryBackendAndTheEmbeddedSimulator()
    {
        await using var app = PackagesWebApp.Build(["--urls", "http://127.0.0.1:0", "--Upstream:DelayScale", "0", "--Logging:LogLevel:Default", "Warning"]);
        await app.StartAsync();
        try
        {
            var upstream = PackagesWebApp.GetUpstreamAddress(app);
            Assert.NotNull(upstream);
            using var http = new HttpClient { BaseAddress = PackagesWebApp.GetAddress(app) };
            using var response = await http.GetAsync(new Uri("api/packages/kernel/bugs", UriKind.Relative));
            response.EnsureSuccessStatusCode();

            using var tracker = new HttpClient { BaseAddress = upstream };
            Assert.Contains("\"kernel\":1", await tracker.GetStringAsync(new Uri("stats", UriKind.Relative)));
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
