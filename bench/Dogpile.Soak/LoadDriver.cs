using System.Diagnostics;
using System.Net;

namespace Dogpile.Soak;

/// <summary>What the client saw over one run.</summary>
internal sealed record LoadResult(long Sent, long Ok, long NotFound, long Failed, long Late, TimeSpan Elapsed, double P50Ms, double P99Ms, double MaxMs)
{
    public double Rate => Sent / Elapsed.TotalSeconds;
}

/// <summary>
/// An open-loop client: request i starts at i / rate seconds (the count is rate × duration, fixed up front), at most
/// <c>concurrency</c> at once; when that many are in flight the schedule slips and the request counts as late.
/// Every request has a timeout, and the run ends by itself a little after its duration whatever the app does.
/// </summary>
internal sealed class LoadDriver(HttpClient http, IReadOnlyList<string> paths, int rate, int concurrency, TimeSpan duration)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken)
    {
        long total = (long)(rate * duration.TotalSeconds);
        var gate = new SemaphoreSlim(concurrency, concurrency);
        var random = new Random(14); // the same request sequence in every run
        long ok = 0, notFound = 0, failed = 0, late = 0;
        var latencies = new double[total];
        var clock = Stopwatch.StartNew();
        var stopBy = duration + RequestTimeout;
        long sent = 0;
        for (; sent < total && !cancellationToken.IsCancellationRequested; sent++)
        {
            TimeSpan due = TimeSpan.FromSeconds(sent / (double)rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, cancellationToken);
            }

            if (!gate.Wait(0))
            {
                late++;
                if (!await gate.WaitAsync(stopBy - clock.Elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero, cancellationToken))
                {
                    break;
                }
            }

            string path = paths[random.Next(paths.Count)];
            long index = sent;
            _ = Task.Run(async () =>
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(RequestTimeout);
                    using HttpResponseMessage response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead, timeout.Token);
                    _ = response.StatusCode switch
                    {
                        HttpStatusCode.OK => Interlocked.Increment(ref ok),
                        HttpStatusCode.NotFound => Interlocked.Increment(ref notFound),
                        _ => Interlocked.Increment(ref failed),
                    };
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    gate.Release();
                }
            }, CancellationToken.None);
        }

        // Drain: every request in flight ends within its timeout.
        for (int i = 0; i < concurrency; i++)
        {
            await gate.WaitAsync(RequestTimeout + TimeSpan.FromSeconds(1), CancellationToken.None);
        }

        TimeSpan elapsed = clock.Elapsed;
        double[] sorted = latencies.AsSpan(0, (int)sent).ToArray();
        Array.Sort(sorted);
        return new LoadResult(sent, ok, notFound, failed, late, elapsed, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted.Length == 0 ? double.NaN : sorted[^1]);
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(p * sorted.Length) - 1)];
}
