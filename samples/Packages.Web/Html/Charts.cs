using System.Globalization;
using System.Text;
using Dogpile;
using Packages.Web.Metrics;

namespace Packages.Web.Html;

/// <summary>The status dashboard's charts, drawn as SVG on the server (no client-side chart library, no CDN).</summary>
internal static class Charts
{
    private const int Width = 420;
    private const int Height = 150;
    private const int Left = 44;
    private const int Bottom = 18;
    private const int Top = 8;

    /// <summary>One line of a chart.</summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<double> Values, string Format = "0.#");

    /// <summary>Every chart of the dashboard from the kept samples, as one HTML fragment (the page polls it).</summary>
    public static string Render(IReadOnlyList<DashboardSample> samples, string backend, int failingKeys, long upstreamTotal, long requestTotal)
    {
        var body = new StringBuilder(16 * 1024);
        body.Append("<div class=\"charts\">\n");
        body.Append(Card("story", "Requests against upstream calls, per second", samples.Count,
            new Series("requests/s", "#3c6eb4", [.. samples.Select(s => (double)s.Requests)]),
            new Series("upstream calls/s", "#d0471b", [.. samples.Select(s => (double)s.UpstreamCalls)])));
        body.Append(Card("latency", "Request latency, ms", samples.Count,
            new Series("p50", "#3c6eb4", [.. samples.Select(s => s.P50Ms)], "0.0"),
            new Series("p99", "#8a4fc8", [.. samples.Select(s => s.P99Ms)], "0.0")));
        body.Append(Card("shares", "How values were served, % per second", samples.Count,
            new Series("hit", "#2f8f2f", [.. samples.Select(s => Share(s.Hits, s))]),
            new Series("stale", "#c9a000", [.. samples.Select(s => Share(s.Stale, s))]),
            new Series("miss", "#d0471b", [.. samples.Select(s => Share(s.Misses, s))])));
        body.Append(Card("queue", "Refresh queue depth and dead letters", samples.Count,
            new Series("queued", "#3c6eb4", [.. samples.Select(s => (double)s.QueueDepth)]),
            new Series("dead letters", "#a00", [.. samples.Select(s => (double)s.DeadLetters)])));
        body.Append("</div>\n");

        var last = samples.Count > 0 ? samples[^1] : null;
        var up = last?.BackendUp ?? true;
        body.Append("<div class=\"card health\"><h2>Health</h2><table class=\"kv\">\n")
            .Append("<tr><th>Cache backend</th><td data-health=\"backend\" class=\"").Append(up ? "up" : "down").Append("\">")
            .Append(Page.E(backend)).Append(": ").Append(last is null ? "probing…" : up ? string.Create(CultureInfo.InvariantCulture, $"up, answered the probe in {last.BackendProbeMs:0.0} ms") : "down: the probe failed")
            .Append("</td></tr>\n")
            .Append(NearCacheRow(last))
            .Append(CultureInfo.InvariantCulture, $"<tr><th>Bug tracker</th><td data-health=\"upstream\">{(failingKeys == 0 ? "answering" : $"failing for {failingKeys} cached value(s); stale copies are served")}</td></tr>\n")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>Since start</th><td><span data-total=\"requests\">{requestTotal}</span> requests, <span data-total=\"upstream\">{upstreamTotal}</span> upstream calls</td></tr>\n")
            .Append("</table></div>\n");
        return body.ToString();
    }

    private static string NearCacheRow(DashboardSample? last)
    {
        var state = last?.NearCache ?? NearCacheState.Off;
        var text = state switch
        {
            NearCacheState.Coherent => string.Create(CultureInfo.InvariantCulture, $"{last!.NearEntries:N0} entries, coherent: the backend's change feed is live, so other instances' writes reach them in milliseconds"),
            NearCacheState.TimeBounded => string.Create(CultureInfo.InvariantCulture, $"{last!.NearEntries:N0} entries, each trusted for at most the near cache's Duration (1 s by default): no change feed (memcached), or the feed is down"),
            _ => "off: the embedded memory backend is this process's memory already",
        };
        var css = state switch
        {
            NearCacheState.Coherent => "up",
            NearCacheState.TimeBounded => "degraded",
            _ => "off",
        };
        return $"<tr><th>Near cache</th><td data-health=\"near\" class=\"{css}\">{Page.E(text)}</td></tr>\n";
    }

    private static double Share(long part, DashboardSample s)
    {
        var all = s.Hits + s.Stale + s.Misses;
        return all == 0 ? 0 : 100.0 * part / all;
    }

    private static string Card(string id, string title, int points, params Series[] series)
    {
        var max = Math.Max(1, series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max());
        max = Nice(max);
        var plotWidth = Width - Left - 6;
        var plotHeight = Height - Top - Bottom;
        var svg = new StringBuilder(2048);
        svg.Append(CultureInfo.InvariantCulture, $"<div class=\"card chart\" id=\"chart-{id}\"><h2>{Page.E(title)}</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {Width} {Height}\" width=\"100%\" role=\"img\" aria-label=\"{Page.E(title)}\" data-points=\"{points}\">")
            .Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"#fafbfd\" stroke=\"#dde3ea\"/>");
        for (var i = 0; i <= 2; i++)
        {
            var y = Top + (plotHeight * i / 2.0);
            var label = max * (2 - i) / 2;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#e6e9ee\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"{y + 4:0.#}\" font-size=\"10\" text-anchor=\"end\" fill=\"#666\">{label:0.##}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{Height - 4}\" font-size=\"10\" fill=\"#666\">−{DashboardSampler.Capacity} s</text>")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + plotWidth}\" y=\"{Height - 4}\" font-size=\"10\" text-anchor=\"end\" fill=\"#666\">now</text>");
        foreach (var s in series)
        {
            if (s.Values.Count == 0)
            {
                continue;
            }

            // Right-aligned: the newest sample at "now", older ones to the left over the kept two minutes.
            var offset = DashboardSampler.Capacity - s.Values.Count;
            var points2 = new StringBuilder(s.Values.Count * 12);
            for (var i = 0; i < s.Values.Count; i++)
            {
                var x = Left + (plotWidth * (offset + i) / (double)(DashboardSampler.Capacity - 1));
                var y = Top + plotHeight - (plotHeight * Math.Min(s.Values[i], max) / max);
                points2.Append(CultureInfo.InvariantCulture, $"{x:0.#},{y:0.#} ");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"series\" data-series=\"{Page.E(s.Name)}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"1.8\" points=\"{points2.ToString().TrimEnd()}\"/>");
        }

        svg.Append("</svg>\n<div class=\"legend\">");
        foreach (var s in series)
        {
            var last = s.Values.Count > 0 ? s.Values[^1].ToString(s.Format, CultureInfo.InvariantCulture) : "–";
            svg.Append(CultureInfo.InvariantCulture, $"<span><i style=\"background:{s.Color}\"></i>{Page.E(s.Name)}: <b>{last}</b></span>");
        }

        return svg.Append("</div></div>\n").ToString();
    }

    /// <summary>A round axis maximum at or above <paramref name="value"/>: 1, 2, 5 × 10ⁿ.</summary>
    private static double Nice(double value)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1.0, 2.0, 5.0, 10.0 })
        {
            if (step * magnitude >= value)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }
}
