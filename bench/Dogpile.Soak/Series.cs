namespace Dogpile.Soak;

/// <summary>One sample of every figure, <see cref="Seconds"/> after the load started.</summary>
internal sealed record Sample(double Seconds, ProcStats Web, double HeapMb, ProcStats? Worker, double? RedisMb, int? RedisClients);

/// <summary>A figure sampled over the run, and how to tell flat from growing.</summary>
/// <param name="Name">Column and verdict name.</param>
/// <param name="Read">The figure in a sample; null where the mode has none.</param>
/// <param name="Floor">An absolute rise that counts as flat whatever its ratio (a few threads, a few MB).</param>
/// <param name="Decimals">Digits shown.</param>
internal sealed record Series(string Name, Func<Sample, double?> Read, double Floor, int Decimals)
{
    /// <summary>The rise allowed between the middle and the last third of the run, relative to the middle.</summary>
    public const double Tolerance = 0.15;

    public static readonly IReadOnlyList<Series> Memory =
    [
        new("RSS MB", s => s.Web.RssMb, 16, 0),
        new("heap after GC MB", s => s.HeapMb, 8, 1),
        new("threads", s => s.Web.Threads, 4, 0),
        new("fds", s => s.Web.Fds, 8, 0),
        new("TCP conns", s => s.Web.Connections, 8, 0),
    ];

    public static readonly IReadOnlyList<Series> Redis =
    [
        .. Memory,
        new("web→redis conns", s => s.Web.ConnectionsToPort, 2, 0),
        new("worker RSS MB", s => s.Worker?.RssMb, 16, 0),
        new("worker threads", s => s.Worker?.Threads, 4, 0),
        new("worker fds", s => s.Worker?.Fds, 8, 0),
        new("worker→redis conns", s => s.Worker?.ConnectionsToPort, 2, 0),
        new("redis used MB", s => s.RedisMb, 8, 1),
        new("redis clients", s => s.RedisClients, 2, 0),
    ];

    /// <summary>
    /// The first third of the samples is warm-up (JIT tiers, pools, the heap finding its size); the median of the last
    /// third against the median of the middle one says whether the figure still rises. Medians, so that one sample
    /// taken during a GC or a burst of refreshes decides nothing.
    /// </summary>
    public Verdict Judge(IReadOnlyList<Sample> samples)
    {
        double[] values = samples.Select(s => Read(s) ?? double.NaN).ToArray();
        int a = values.Length / 3, b = 2 * values.Length / 3;
        double middle = Median(values[a..b]), last = Median(values[b..]);
        bool flat = last <= middle * (1 + Tolerance) || last - middle <= Floor;
        return new Verdict(this, middle, last, SlopePerMinute(samples.Skip(a).Select(s => s.Seconds).ToArray(), values[a..]), flat);
    }

    private static double Median(double[] values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Least-squares slope after warm-up: how fast a growing figure grows.</summary>
    private static double SlopePerMinute(double[] seconds, double[] values)
    {
        double mx = seconds.Average(), my = values.Average();
        double num = 0, den = 0;
        for (int i = 0; i < seconds.Length; i++)
        {
            num += (seconds[i] - mx) * (values[i] - my);
            den += (seconds[i] - mx) * (seconds[i] - mx);
        }

        return den == 0 ? 0 : num / den * 60;
    }
}

/// <summary>Middle-third and last-third medians of a series, its slope after warm-up, and whether it is flat.</summary>
internal sealed record Verdict(Series Series, double Middle, double Last, double SlopePerMinute, bool Flat);
