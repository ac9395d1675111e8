using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Dogpile.Testing;
using HdrHistogram;

namespace Dogpile.DistributedBenchmarks;

/// <summary>This executable started again as a child OS process (<c>child ...</c>), talking over stdin/stdout lines.</summary>
internal static class Child
{
    public static ChildProcess Start(params string[] args) => ChildProcess.StartSelf(["child", .. args], new ChildProcessOptions { Name = "child " + args[0] });
}

internal static class Clock
{
    /// <summary>Wall-clock milliseconds, comparable across processes on one machine (sub-ms resolution).</summary>
    public static double NowUnixMs() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;

    /// <summary>Waits (without blocking a thread until the last moment) until the given wall-clock time.</summary>
    public static async Task UntilAsync(double unixMs)
    {
        double wait = unixMs - NowUnixMs();
        if (wait > 20)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait - 15));
        }

        while (NowUnixMs() < unixMs)
        {
            Thread.SpinWait(50);
        }
    }
}

/// <summary>Latencies in microseconds, recorded into an HdrHistogram; reported in milliseconds.</summary>
internal sealed class Latencies
{
    private readonly LongConcurrentHistogram _histogram = new(1, 60_000_000, 3);

    public void RecordMs(double ms) => _histogram.RecordValue(Math.Max(1, (long)(ms * 1000)));

    public void Add(IEnumerable<double> ms)
    {
        foreach (double m in ms)
        {
            RecordMs(m);
        }
    }

    public long Count => _histogram.TotalCount;

    public double P(double percentile) => _histogram.TotalCount == 0 ? double.NaN : _histogram.GetValueAtPercentile(percentile) / 1000.0;

    public double Max => _histogram.TotalCount == 0 ? double.NaN : _histogram.GetMaxValue() / 1000.0;
}

internal static class Memcached
{
    /// <summary><c>stats</c> over a fresh socket: the value of one statistic.</summary>
    public static async Task<long> StatAsync(string server, string name)
    {
        using var client = await ConnectAsync(server);
        return await StatAsync(client, name);
    }

    public static async Task<TcpClient> ConnectAsync(string server)
    {
        string[] parts = server.Split(':');
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(parts[0], int.Parse(parts[1], CultureInfo.InvariantCulture));
        return client;
    }

    /// <summary><c>stats</c> over an open socket (a sampler keeps one, so that its own connects and closes never show up).</summary>
    public static async Task<long> StatAsync(TcpClient client, string name)
    {
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("stats\r\n"));
        var text = new StringBuilder();
        var buffer = new byte[8192];
        while (!text.ToString().Contains("END\r\n", StringComparison.Ordinal))
        {
            int read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        foreach (string line in text.ToString().Split("\r\n"))
        {
            string[] f = line.Split(' ');
            if (f.Length == 3 && f[0] == "STAT" && f[1] == name)
            {
                return long.Parse(f[2], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"memcached stats has no {name}");
    }
}

internal static class Fmt
{
    public static string Ms(double v) => double.IsNaN(v) ? "–" : v.ToString(v >= 100 ? "F0" : v >= 10 ? "F1" : "F2", CultureInfo.InvariantCulture);

    public static string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);

    public static string Ratio(double v) => double.IsNaN(v) || double.IsInfinity(v) ? "–" : v.ToString("F2", CultureInfo.InvariantCulture) + "×";
}
