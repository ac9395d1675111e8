using System.Diagnostics;
using HdrHistogram;

namespace Dogpile.Scenarios.Harness;

/// <summary>Per-thread latency recording in nanoseconds (HdrHistogram, 3 significant digits, up to 5 minutes).</summary>
public sealed class Latency
{
    private static readonly long s_highest = TimeSpan.FromMinutes(5).Ticks * 100;
    private readonly LongHistogram _histogram = new(1, s_highest, 3);

    public long Over50Ms { get; private set; }

    public long Count => _histogram.TotalCount;

    public void Record(long startTimestamp)
    {
        long ns = (long)Stopwatch.GetElapsedTime(startTimestamp).TotalNanoseconds;
        RecordNanoseconds(ns);
    }

    public void RecordNanoseconds(long ns)
    {
        ns = Math.Clamp(ns, 1, s_highest);
        _histogram.RecordValue(ns);
        if (ns > 50_000_000)
        {
            Over50Ms++;
        }
    }

    public static Latency Merge(IEnumerable<Latency> parts)
    {
        var merged = new Latency();
        foreach (Latency part in parts)
        {
            merged._histogram.Add(part._histogram);
            merged.Over50Ms += part.Over50Ms;
        }

        return merged;
    }

    /// <summary>A percentile in milliseconds.</summary>
    public double Ms(double percentile) => Count == 0 ? double.NaN : _histogram.GetValueAtPercentile(percentile) / 1e6;

    public double MaxMs => Count == 0 ? double.NaN : _histogram.GetMaxValue() / 1e6;
}
