using System.Diagnostics;
using Dogpile.Scenarios.Harness;
using Dogpile.Scenarios.Peers;

namespace Dogpile.Scenarios.InProcess;

/// <summary>
/// Values are cached, then the creator starts throwing and the values expire under load. A cache with
/// stale-if-error keeps serving the old value, shows callers no error, and backs off instead of hammering
/// the failing source.
/// </summary>
public sealed class FailingCreatorScenario : IScenario
{
    private const int Threads = 2;
    private const int KeyCount = 10;
    private static readonly TimeSpan s_ttl = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_duration = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_failAfter = TimeSpan.FromMilliseconds(20);

    public string Id => "failing";

    public string Title => "Failing creator";

    public ScenarioKind Kind => ScenarioKind.InProcess;

    public int Order => 30;

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        TimeSpan duration = context.Scale(s_duration);
        string[] keys = Enumerable.Range(0, KeyCount).Select(i => "failing:" + i).ToArray();
        var result = new ScenarioResult
        {
            Title = Title,
            Setup = $"{KeyCount} keys are created, then the creator starts failing (throws after {s_failAfter.TotalMilliseconds:0} ms) and {Threads} threads read the keys for "
                  + $"{duration.TotalSeconds:0.#} s; TTL {s_ttl.TotalSeconds:0} s, so every value expires about 1 s into the failure. Failure back-off: Dogpile RefreshFailureBackoff 5 s, "
                  + "FusionCache FailSafeThrottleDuration 5 s; HybridCache has no equivalent. Settings otherwise as in *Refresh under load*.",
        };
        var table = new MarkdownTable("Library", "Requests", "Errors seen by callers", "Served stale", "Creator calls", "Creator calls per key per second", "p99 ns", "max ms", "Requests > 50 ms", "GC pause ms (gen0/1/2)");
        var runs = new List<(string Name, bool Dogpile, LoadRunner.Outcome Outcome, long Calls)>();
        foreach (PeerFactory factory in InProcessPeers.All)
        {
            context.Log.WriteLine($"  failing: {factory.Name}");
            await using ICacheUnderTest cache = factory.Create(RefreshUnderLoadScenario.Settings);
            long calls = 0;
            int failing = 0;
            Func<string, CancellationToken, ValueTask<Payload>> creator = async (key, ct) =>
            {
                if (Volatile.Read(ref failing) == 0)
                {
                    return new Payload(key, 0, Stopwatch.GetTimestamp());
                }

                Interlocked.Increment(ref calls);
                await Task.Delay(s_failAfter, ct).ConfigureAwait(false);
                throw new InvalidOperationException("The source is down.");
            };

            foreach (string key in keys)
            {
                await cache.GetOrCreateAsync(key, creator, static (c, ct) => c("prefill", ct), cancellationToken).ConfigureAwait(false);
            }

            Volatile.Write(ref failing, 1);
            LoadRunner.Outcome outcome = await Task.Run(() => LoadRunner.Run(cache, Threads, keys, creator, duration, s_ttl), cancellationToken).ConfigureAwait(false);
            runs.Add((factory.Name, cache.IsDogpile, outcome, Volatile.Read(ref calls)));
        }

        foreach (var r in runs)
        {
            LoadRunner.Outcome o = r.Outcome;
            table.Add(r.Name, o.Requests, o.Errors, o.StaleServed, r.Calls, r.Calls / (KeyCount * duration.TotalSeconds), o.Latency.Ms(99) * 1e6, o.Latency.MaxMs, o.Latency.Over50Ms, $"{o.GcPauseMs:0.#} ({o.GcCounts})");
        }

        result.Tables.Add(table);
        var dogpile = runs.Single(r => r.Dogpile);
        TargetBoard.Add(30, "Failing creator: zero errors while a stale value exists", $"{dogpile.Outcome.Errors} errors, {dogpile.Calls} creator calls", dogpile.Outcome.Errors == 0);
        result.Verdict.Add(dogpile.Outcome.Errors == 0
            ? $"Target met: Dogpile showed callers 0 errors while a stale value existed, served {dogpile.Outcome.StaleServed:N0} stale answers, and called the failing creator {dogpile.Calls} times ({dogpile.Calls / (double)KeyCount:0.#} per key in {duration.TotalSeconds:0.#} s, bounded by the 5 s back-off)."
            : $"Target MISSED: Dogpile showed callers {dogpile.Outcome.Errors:N0} errors while a stale value existed.");
        foreach (var peer in runs.Where(r => !r.Dogpile))
        {
            result.Verdict.Add($"{peer.Name}: {peer.Outcome.Errors:N0} errors, {peer.Outcome.StaleServed:N0} stale answers, {peer.Calls:N0} creator calls.");
        }

        return result;
    }
}
