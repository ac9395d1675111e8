using System.Collections.Concurrent;
using Dogpile.Bench;
using Dogpile.Scenarios.Harness;
using Dogpile.Scenarios.Peers;

namespace Dogpile.Scenarios.InProcess;

/// <summary>
/// Managed bytes per entry at 1,000,000 entries. Keys and the (shared) value exist before the first
/// measurement, and the cache is built after it, so the figure is each library's own overhead per entry:
/// its dictionary node, entry objects, expiration bookkeeping and any up-front tables.
/// </summary>
public sealed class MemoryScenario : IScenario
{
    private const int Entries = 1_000_000;

    public string Id => "memory";

    public string Title => "Memory per entry";

    public ScenarioKind Kind => ScenarioKind.InProcess;

    public int Order => 40;

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult
        {
            Title = Title,
            Setup = $"{Entries:N0} entries stored with each library's set operation (expiration 5 min; Dogpile's memory backend sized to {1 << 20:N0} entries so nothing is evicted). "
                  + "Bytes per entry = (GC.GetTotalMemory(forceFullCollection: true) after − before) / entries, with the keys (\"mem:0\" … ) and one shared value object "
                  + "allocated before the first reading: the figure excludes keys and values and is pure cache overhead.",
        };
        string[] keys = Enumerable.Range(0, Entries).Select(i => "mem:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var value = new Payload("shared", 0, 0);
        var settings = new PeerSettings { Duration = TimeSpan.FromMinutes(5), DogpileCapacity = 1 << 20 };

        var rows = new List<(string Name, double BytesPerEntry, string Note)>();
        context.Log.WriteLine("  memory: ConcurrentDictionary");
        rows.Add(("ConcurrentDictionary<string, object>", Measure(() =>
        {
            var d = new ConcurrentDictionary<string, object>(StringComparer.Ordinal);
            foreach (string key in keys)
            {
                d[key] = value;
            }

            return d;
        }), "raw baseline, default capacity (grows)"));

        foreach (PeerFactory factory in InProcessPeers.All)
        {
            context.Log.WriteLine($"  memory: {factory.Name}");
            ICacheUnderTest? cache = null;
            string note = "";
            double perEntry = Measure(() =>
            {
                cache = factory.Create(settings);
                foreach (string key in keys)
                {
                    ValueTask set = cache.SetAsync(key, value);
                    if (!set.IsCompletedSuccessfully)
                    {
                        set.AsTask().GetAwaiter().GetResult();
                    }
                }

                return cache;
            });
            if (cache is DogpilePeer dogpile && dogpile.Region.Backend is MemoryCacheBackend backend)
            {
                note = $"{backend.Count:N0} entries held";
            }

            await cache!.DisposeAsync().ConfigureAwait(false);
            rows.Add((factory.Name, perEntry, note));
        }

        double raw = rows[0].BytesPerEntry;
        double bestPeer = rows.Where(r => r.Name is "FusionCache" or "HybridCache").Min(r => r.BytesPerEntry);
        var table = new MarkdownTable("Library", "Bytes per entry", "vs best peer", "vs ConcurrentDictionary", "Note");
        foreach (var r in rows)
        {
            table.Add(r.Name, r.BytesPerEntry, MarkdownTable.Ratio(r.BytesPerEntry, bestPeer), MarkdownTable.Ratio(r.BytesPerEntry, raw), r.Note);
        }

        result.Tables.Add(table);
        double dp = rows.Single(r => r.Name == "Dogpile").BytesPerEntry;
        result.Verdict.Add(dp <= bestPeer
            ? $"Dogpile uses {dp:0} B per entry, {dp / bestPeer:0.00}× the leanest peer and {dp / raw:0.0}× a raw dictionary node."
            : $"Dogpile loses on memory: {dp:0} B per entry, {dp / bestPeer:0.00}× the leanest peer ({bestPeer:0} B) and {dp / raw:0.0}× a raw dictionary node.");
        result.Verdict.Add("Dogpile's entry is the backend's Slot (key, drop time, CLOCK flag) + a CacheEntry (value, created, expiration, creation duration, decoded cache) + the dictionary node + its place in the CLOCK queue.");
        GC.KeepAlive(keys);
        return result;
    }

    private static double Measure(Func<object> fill)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        object held = fill();
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(held);
        return (after - before) / (double)Entries;
    }
}
