using System.Diagnostics;
using Dogpile.Scenarios.Harness;
using Dogpile.Scenarios.Peers;

namespace Dogpile.Scenarios.InProcess;

/// <summary>
/// Hammers a cache from dedicated threads (not pool threads, so a blocked caller never starves the creators'
/// continuations), picking keys uniformly, and records every request's latency and the age of what it got.
/// </summary>
internal static class LoadRunner
{
    public sealed class Outcome
    {
        public required Latency Latency { get; init; }

        public long Requests { get; init; }

        public long Errors { get; init; }

        /// <summary>Requests answered with a value older than the TTL (served stale).</summary>
        public long StaleServed { get; init; }

        /// <summary>Requests over 50 ms whose value was created while they waited: they really waited for a creator.</summary>
        public long WaitedForCreator { get; init; }

        /// <summary>Total GC pause time during the run, ms.</summary>
        public double GcPauseMs { get; init; }

        /// <summary>Gen0/gen1/gen2 collections during the run.</summary>
        public string GcCounts { get; init; } = "";

        /// <summary>The oldest value handed out, in ms since its creator finished.</summary>
        public double MaxAgeMs { get; init; }
    }

    public static Outcome Run(
        ICacheUnderTest cache,
        int threads,
        string[] keys,
        Func<string, CancellationToken, ValueTask<Payload>> creator,
        TimeSpan duration,
        TimeSpan ttl)
    {
        var latencies = new Latency[threads];
        long requests = 0, errors = 0, stale = 0, maxAgeTicks = 0, waited = 0;
        long slowTicks = Stopwatch.Frequency / 20;
        long ttlTicks = (long)(ttl.TotalSeconds * Stopwatch.Frequency);
        TimeSpan pauseBefore = GC.GetTotalPauseDuration();
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        long stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            latencies[t] = new Latency();
            workers[t] = new Thread(() =>
            {
                var random = new Random(1000 + index);
                Latency latency = latencies[index];
                long myRequests = 0, myErrors = 0, myStale = 0, myMaxAge = 0, myWaited = 0;
                while (Stopwatch.GetTimestamp() < stopAt)
                {
                    string key = keys[random.Next(keys.Length)];
                    long start = Stopwatch.GetTimestamp();
                    try
                    {
                        ValueTask<Payload> pending = Get(cache, key, creator);
                        Payload value = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
                        latency.Record(start);
                        long end = Stopwatch.GetTimestamp();
                        if (end - start > slowTicks && value.CreatedTimestamp >= start)
                        {
                            myWaited++;
                        }

                        long age = Stopwatch.GetTimestamp() - value.CreatedTimestamp;
                        myMaxAge = Math.Max(myMaxAge, age);
                        if (age > ttlTicks)
                        {
                            myStale++;
                        }
                    }
                    catch (Exception)
                    {
                        latency.Record(start);
                        myErrors++;
                    }

                    myRequests++;
                }

                Interlocked.Add(ref requests, myRequests);
                Interlocked.Add(ref errors, myErrors);
                Interlocked.Add(ref stale, myStale);
                Interlocked.Add(ref waited, myWaited);
                long seen;
                while (myMaxAge > (seen = Volatile.Read(ref maxAgeTicks)) && Interlocked.CompareExchange(ref maxAgeTicks, myMaxAge, seen) != seen)
                {
                }
            })
            { IsBackground = true, Name = $"load-{index}" };
        }

        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        return new Outcome
        {
            Latency = Latency.Merge(latencies),
            Requests = requests,
            Errors = errors,
            StaleServed = stale,
            WaitedForCreator = waited,
            GcPauseMs = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds,
            GcCounts = $"{GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2}",
            MaxAgeMs = maxAgeTicks * 1000.0 / Stopwatch.Frequency,
        };
    }

    private static ValueTask<Payload> Get(ICacheUnderTest cache, string key, Func<string, CancellationToken, ValueTask<Payload>> creator)
        => cache.GetOrCreateAsync(key, (key, creator), static (s, ct) => s.creator(s.key, ct));
}
