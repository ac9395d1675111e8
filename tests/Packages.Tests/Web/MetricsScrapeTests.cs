using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Packages.Web.Metrics;

namespace Packages.Tests.Web;

/// <summary>
/// The Dogpile meter is process-wide: while this runs, no other test's app may have regions of the same names, so it
/// runs on its own (after the parallel tests).
/// </summary>
[CollectionDefinition(nameof(MetricsScrape), DisableParallelization = true)]
public sealed class MetricsScrape;

/// <summary><c>/metrics</c>: the OpenTelemetry Prometheus exporter, with every Dogpile figure, ASP.NET Core and the runtime.</summary>
[Collection(nameof(MetricsScrape))]
public sealed partial class MetricsScrapeTests
{
    [Fact]
    public async Task Metrics_IsPrometheusText_WithEveryRegionFigureHistogramsAspNetCoreAndRuntime()
    {
        await using var web = await WebAppHarness.StartAsync(delayScale: 0);
        await web.GetReplyAsync("api/packages/kernel/bugs");
        await web.GetReplyAsync("api/packages/kernel/bugs");

        using var response = await web.GetAsync("metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var typed = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<(string Name, string Labels, double Value)>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (TypeLine().Match(line) is { Success: true } type)
            {
                typed[type.Groups[1].Value] = type.Groups[2].Value;
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# UNIT ", StringComparison.Ordinal) || line == "# EOF")
            {
                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"not a Prometheus sample line: '{line}'");
            string name = sample.Groups[1].Value;
            string family = typed.ContainsKey(name) ? name : Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(typed.TryGetValue(family, out string? kind) && (family == name || kind == "histogram"), $"sample of an untyped metric: '{line}'");
            samples.Add((name, sample.Groups[2].Value, double.Parse(sample.Groups[3].Value, CultureInfo.InvariantCulture)));
        }

        double Single(string name, string region) =>
            Assert.Single(samples, s => s.Name == name && s.Labels.Contains($"region=\"{region}\"", StringComparison.Ordinal)).Value;

        foreach (var metric in RegionMetrics.All)
        {
            Assert.Equal(metric.Type, typed.GetValueOrDefault(metric.Name));
            _ = Single(metric.Name, "bugs");
            _ = Single(metric.Name, "packages");
        }

        Assert.Equal(1, Single("dogpile_hits_total", "bugs"));
        Assert.Equal(1, Single("dogpile_misses_total", "bugs"));
        Assert.Equal(1, Single("dogpile_creations_total", "bugs"));

        // The new histograms, in seconds; ASP.NET Core's and the runtime's instruments beside them.
        Assert.Equal("histogram", typed.GetValueOrDefault("dogpile_creation_duration_seconds"));
        Assert.Equal(1, Single("dogpile_creation_duration_seconds_count", "bugs"));
        Assert.Equal("histogram", typed.GetValueOrDefault("http_server_request_duration_seconds"));
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.Contains("http_route=\"/api/packages/{name}/bugs\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("dogpile_redis_queue", StringComparison.Ordinal)); // no durable queue here
    }

    [GeneratedRegex("""^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$""")]
    private static partial Regex TypeLine();

    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?: -?[0-9]+)?$""")]
    private static partial Regex SampleLine();
}
