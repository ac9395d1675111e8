using System.Text.Json;
using Dogpile.Scenarios.Harness;

namespace Dogpile.Scenarios.Report;

/// <summary>Reads BenchmarkDotNet's brief JSON reports and renders one table per benchmark class, with ratios.</summary>
public static class MicroResults
{
    // MeanNs holds the median: with 7 iterations on a shared box, one disturbed iteration moves the mean a lot.
    private sealed record Row(string Type, string Method, string Parameters, double MeanNs, double ArithmeticMeanNs, double ErrorNs, long? Allocated);

    private static readonly string[] s_peers = ["FusionCache", "HybridCache", "HybridCacheImmutable", "HybridCacheMutable"];

    public static string Render(string directory)
    {
        List<Row> rows = Load(directory);
        if (rows.Count == 0)
        {
            return $"_No BenchmarkDotNet results found in `{directory}`._\n";
        }

        AddTargets(rows.Where(r => r.Type == "HotHitStringBenchmarks").ToList());
        var sb = new System.Text.StringBuilder();
        Section(sb, rows, "HotHitStringBenchmarks", "Hot hit, string value",
            "Get-or-create of a key whose value is cached and fresh (Dogpile: TState overload with a static lambda). Baseline: `ConcurrentDictionary<string, object>.TryGetValue` of the same key.",
            HotHitVerdict);
        Section(sb, rows, "HotHitPocoBenchmarks", "Hot hit, POCO value",
            "As above with a small record. HybridCache twice: an `[ImmutableObject(true)]` sealed record (handed out as is) and a mutable class (HybridCache keeps mutable values serialized and deserializes a copy on every hit, by design).",
            HotHitVerdict);
        Section(sb, rows, "HybridCacheAdapterBenchmarks", "Hot hit through HybridCache",
            "The same string hit through `AddDogpileHybridCache()`'s `HybridCache` (docs/hybridcache.md), against the native region hit it wraps and Microsoft's `HybridCache` (L1 only). `...WithOptionsAndTags` passes `HybridCacheEntryOptions` and one tag on every call, as HybridCache callers often do. `EmptyHybridCacheOverride` is a HybridCache that returns a constant: the cost of the call itself.",
            HybridAdapterVerdict);
        Section(sb, rows, "TaggedHitBenchmarks", "Hot hit of a tagged value",
            "A Dogpile hit of a value stored with no, one and three tags (docs/tags.md). While no tag was invalidated after the value was created, a tagged hit adds one compare; `ThreeTagsOlderThanATagMark` is a value older than an (unrelated) tag invalidation, so each of its tags is looked up.",
            TaggedVerdict);
        Section(sb, rows, "TelemetryBenchmarks", "The cost of tracing and histograms",
            "A Dogpile hit and a miss (remove, then get-or-create) with nobody listening, with an `ActivityListener` sampling every `Dogpile` span, and with that plus a `MeterListener` on every Dogpile instrument. The hit path has no span and no histogram: it must cost the same, 0 B, whoever listens.",
            TelemetryVerdict);
        Section(sb, rows, "HitPathBreakdownBenchmarks", "Where Dogpile's hit time goes",
            "Pieces of Dogpile's hit path measured alone (single key, one thread). They do not add up exactly (inlining, shared cache lines), but they show which part costs what.",
            BreakdownVerdict);
        Section(sb, rows, "MissPathBreakdownBenchmarks", "What Dogpile's miss and stale paths are made of",
            "The waits a miss can cost, measured alone: `InlineCompletedTcs` is an async method awaiting an already completed TaskCompletionSource (the first caller of a miss runs the creator in line, so its wait is this); `YieldThenAwaitTcs` creates on another thread and wakes the caller through a TaskCompletionSource (two thread-pool hops; a caller served by another caller's creation pays the second: being woken); `...WithTimeout` waits through `WaitAsync(LockTimeout, TimeProvider)`, as such a caller does (a timer per wait). `StaleHit` is a Dogpile get-or-create of a stale value whose refresh is already running (the common case under load after expiry).",
            MissPathVerdict);
        Section(sb, rows, "MissBenchmarks", "Miss (remove, then get-or-create)",
            "Each operation removes the key and then gets-or-creates it with a trivial synchronous creator, so it measures remove + miss + store. Baseline: `TryRemove` + `GetOrAdd`.",
            PeerVerdict("miss"));
        Section(sb, rows, "SetBenchmarks", "Set",
            "Overwrite one key. Baseline: the dictionary indexer.",
            PeerVerdict("set"));
        Section(sb, rows, "ZipfThroughputBenchmarks", "Hit throughput, Zipf keys, 1 and 2 threads",
            $"1,048,576 hits per invocation over 10,000 keys drawn from a Zipf distribution (s = 0.99, fixed seed, precomputed), split over the threads. Mean is the aggregate time per hit (so 2 threads on 2 free cores would halve it); throughput = 1 / mean. On this shared 2-core machine the 2-thread rows compete with the benchmark host and other work.",
            ZipfVerdict);
        return sb.ToString();
    }

    private static void AddTargets(List<Row> rows)
    {
        Row? dogpile = Find(rows, "Dogpile");
        Row? fusion = Find(rows, "FusionCache");
        Row? dict = Find(rows, "ConcurrentDictionary");
        if (dogpile is null || fusion is null || dict is null)
        {
            return;
        }

        TargetBoard.Add(1, "Hot hit allocates 0 B", $"{dogpile.Allocated} B", dogpile.Allocated == 0);
        TargetBoard.Add(2, "Hot hit ≤ 0.5× FusionCache's time (string)", $"{dogpile.MeanNs:0.0} / {fusion.MeanNs:0.0} ns = {dogpile.MeanNs / fusion.MeanNs:0.00}×", dogpile.MeanNs <= 0.5 * fusion.MeanNs);
        TargetBoard.Add(3, "Hot hit ≤ 2× raw ConcurrentDictionary (string)", $"{dogpile.MeanNs:0.0} / {dict.MeanNs:0.0} ns = {dogpile.MeanNs / dict.MeanNs:0.0}×", dict.MeanNs >= 1 && dogpile.MeanNs <= 2 * dict.MeanNs);
    }

    private static List<Row> Load(string directory)
    {
        var rows = new List<Row>();
        if (!Directory.Exists(directory))
        {
            return rows;
        }

        foreach (string file in Directory.EnumerateFiles(directory, "*-report-brief.json", SearchOption.AllDirectories))
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (JsonElement b in doc.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                if (!b.TryGetProperty("Statistics", out JsonElement stats) || stats.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                long? allocated = b.TryGetProperty("Memory", out JsonElement mem) && mem.ValueKind == JsonValueKind.Object
                    ? mem.GetProperty("BytesAllocatedPerOperation").GetInt64()
                    : null;
                double error = stats.TryGetProperty("ConfidenceInterval", out JsonElement ci) && ci.TryGetProperty("Margin", out JsonElement margin) ? margin.GetDouble() : double.NaN;
                rows.Add(new Row(b.GetProperty("Type").GetString()!, b.GetProperty("Method").GetString()!, b.GetProperty("Parameters").GetString() ?? "", stats.GetProperty("Median").GetDouble(), stats.GetProperty("Mean").GetDouble(), error, allocated));
            }
        }

        return rows;
    }

    private static IEnumerable<string> TelemetryVerdict(List<Row> rows)
    {
        Row? quiet = Find(rows, "Hit", "Listening=None");
        if (quiet is null)
        {
            yield break;
        }

        foreach (Row listened in rows.Where(r => r.Method == "Hit" && r.Parameters != "Listening=None"))
        {
            yield return $"Hit with {listened.Parameters}: {listened.MeanNs:0.0} ns, {listened.Allocated} B vs {quiet.MeanNs:0.0} ns, {quiet.Allocated} B with nobody listening ({listened.MeanNs / quiet.MeanNs:0.00}×).";
        }

        if (Find(rows, "Miss", "Listening=None") is { } miss)
        {
            yield return $"Miss with nobody listening: {miss.MeanNs:0} ns, {miss.Allocated} B; a sampled trace adds the activities it records (see the rows above).";
        }

        yield return quiet.Allocated == 0
            ? "Target met: with no listener the hit allocates 0 B; no span or histogram is on the hit path."
            : $"Target MISSED: the hit allocates {quiet.Allocated} B with no listener.";
    }

    private static void Section(System.Text.StringBuilder sb, List<Row> all, string type, string title, string setup, Func<List<Row>, IEnumerable<string>> verdict)
    {
        List<Row> rows = all.Where(r => r.Type == type).ToList();
        sb.AppendLine($"### {title}").AppendLine().AppendLine(setup).AppendLine();
        if (rows.Count == 0)
        {
            sb.AppendLine("_Not run._").AppendLine();
            return;
        }

        foreach (IGrouping<string, Row> group in rows.GroupBy(r => r.Parameters))
        {
            List<Row> g = group.ToList();
            Row? baseline = g.FirstOrDefault(r => r.Method.StartsWith("ConcurrentDictionary", StringComparison.Ordinal));
            double bestPeer = g.Where(r => s_peers.Contains(r.Method)).Select(r => r.MeanNs).DefaultIfEmpty(double.NaN).Min();
            var table = new MarkdownTable("Method", "Median ns", "Mean ns", "± ns (99.9% CI)", "Allocated B", "vs best peer", "vs ConcurrentDictionary")
            {
                Caption = group.Key.Length > 0 ? $"`{group.Key}`" : null,
            };
            foreach (Row r in g)
            {
                table.Add(r.Method, r.MeanNs, r.ArithmeticMeanNs, r.ErrorNs, r.Allocated, double.IsNaN(bestPeer) ? "" : MarkdownTable.Ratio(r.MeanNs, bestPeer), baseline is null ? "" : MarkdownTable.Ratio(r.MeanNs, baseline.MeanNs));
            }

            sb.Append(table.ToMarkdown()).AppendLine();
        }

        List<string> lines = verdict(rows).ToList();
        if (lines.Count > 0)
        {
            sb.AppendLine("**Verdict**").AppendLine();
            foreach (string line in lines)
            {
                sb.AppendLine($"- {line}");
            }

            sb.AppendLine();
        }
    }

    private static Row? Find(List<Row> rows, string method, string parameters = "") => rows.FirstOrDefault(r => r.Method == method && r.Parameters == parameters);

    private static IEnumerable<string> HotHitVerdict(List<Row> rows)
    {
        Row? dogpile = Find(rows, "Dogpile");
        Row? fusion = Find(rows, "FusionCache");
        Row? dict = Find(rows, "ConcurrentDictionary");
        if (dogpile is null || fusion is null || dict is null)
        {
            yield break;
        }

        yield return dogpile.Allocated == 0 ? "Allocation target met: a Dogpile hit allocates 0 B." : $"Allocation target MISSED: a Dogpile hit allocates {dogpile.Allocated} B.";
        double vsFusion = dogpile.MeanNs / fusion.MeanNs;
        yield return $"Dogpile {dogpile.MeanNs:0.0} ns vs FusionCache {fusion.MeanNs:0.0} ns = {vsFusion:0.00}× — target ≤ 0.5× {(vsFusion <= 0.5 ? "met" : "MISSED")}.";
        if (dict.MeanNs < 1)
        {
            yield return $"The dictionary baseline measured {dict.MeanNs:0.0} ns in this table: at BenchmarkDotNet's overhead-subtraction noise floor, so no ratio against it is meaningful here; use the string table for the ≤ 2× target.";
            yield break;
        }

        double vsDict = dogpile.MeanNs / dict.MeanNs;
        yield return $"Dogpile vs raw `ConcurrentDictionary.TryGetValue` ({dict.MeanNs:0.0} ns) = {vsDict:0.0}× — target ≤ 2× {(vsDict <= 2 ? "met" : "MISSED")}. See the breakdown below for where the time goes.";
        Row? hybrid = rows.Where(r => r.Method.StartsWith("HybridCache", StringComparison.Ordinal)).MinBy(r => r.MeanNs);
        if (hybrid is not null)
        {
            yield return hybrid.MeanNs < dogpile.MeanNs
                ? $"Dogpile LOSES to {hybrid.Method} ({hybrid.MeanNs:0.0} ns) here."
                : $"Fastest HybridCache variant: {hybrid.Method} {hybrid.MeanNs:0.0} ns ({hybrid.MeanNs / dogpile.MeanNs:0.0}× Dogpile).";
        }

        Row? mutable = Find(rows, "HybridCacheMutable");
        if (mutable is not null)
        {
            yield return $"HybridCache with a mutable type pays a deserialization per hit: {mutable.MeanNs:0} ns and {mutable.Allocated} B.";
        }
    }

    private static IEnumerable<string> HybridAdapterVerdict(List<Row> rows)
    {
        Row? native = Find(rows, "DogpileRegion");
        if (native is null)
        {
            yield break;
        }

        foreach (Row adapter in rows.Where(r => r.Method.StartsWith("DogpileHybridCache", StringComparison.Ordinal)))
        {
            double ratio = adapter.MeanNs / native.MeanNs;
            bool met = ratio <= 1.5 && adapter.Allocated == 0;
            yield return $"{adapter.Method}: {adapter.MeanNs:0.0} ns, {adapter.Allocated} B = {ratio:0.00}× the native region hit ({native.MeanNs:0.0} ns) — target 0 B and ≤ 1.5× {(met ? "met" : "MISSED")}.";
        }

        Row? floor = Find(rows, "EmptyHybridCacheOverride");
        if (floor is not null)
        {
            yield return $"An empty HybridCache override costs {floor.MeanNs:0.0} ns here: GetOrCreateAsync is a generic virtual method, and that dispatch is paid by every HybridCache before its own code runs.";
        }

        Row? microsoft = Find(rows, "HybridCache");
        Row? dogpile = Find(rows, "DogpileHybridCache");
        if (microsoft is not null && dogpile is not null)
        {
            yield return $"Microsoft's HybridCache: {microsoft.MeanNs:0.0} ns, {microsoft.Allocated} B ({microsoft.MeanNs / dogpile.MeanNs:0.0}× Dogpile's HybridCache).";
        }
    }

    private static IEnumerable<string> TaggedVerdict(List<Row> rows)
    {
        Row? none = Find(rows, "NoTags");
        if (none is null)
        {
            yield break;
        }

        foreach (Row tagged in rows.Where(r => r != none))
        {
            yield return $"{tagged.Method}: {tagged.MeanNs:0.0} ns, {tagged.Allocated} B (+{tagged.MeanNs - none.MeanNs:0.0} ns over no tags, {none.MeanNs:0.0} ns).";
        }
    }

    private static IEnumerable<string> BreakdownVerdict(List<Row> rows)
    {
        Row? dict = Find(rows, "ConcurrentDictionaryTryGetValue");
        Row? peek = Find(rows, "MemoryBackendPeekForHit");
        Row? backend = Find(rows, "MemoryBackendGetAsync");
        Row? key = Find(rows, "RegionToBackendKey");
        Row? counter = Find(rows, "StripedCounterIncrement");
        Row? region = Find(rows, "Region");
        if (dict is null || peek is null || backend is null || region is null || key is null || counter is null)
        {
            yield break;
        }

        yield return $"The memory backend's hit read (dictionary + CLOCK access flag, written only when clear) costs {peek.MeanNs:0.0} ns vs {dict.MeanNs:0.0} ns for the dictionary ({peek.MeanNs / dict.MeanNs:0.0}×); its general read (plus the time-to-live check and ValueTask) {backend.MeanNs:0.0} ns.";
        if (region.MeanNs <= peek.MeanNs)
        {
            yield return $"In this run the whole region hit ({region.MeanNs:0.0} ns, inlined into the benchmark) measured below the backend's hit read alone ({peek.MeanNs:0.0} ns): the pieces are within this machine's noise of each other, so read the parts below as rough.";
        }

        yield return $"The region adds {Math.Max(0, region.MeanNs - peek.MeanNs):0.0} ns on top of the hit read: the key check ({key.MeanNs:0.0} ns), the freshness and invalidation checks against a coarse clock, the type test, and one flag read that decides whether to count the hit. The exact per-thread hit count ({counter.MeanNs:0.0} ns alone here, mostly finding this thread's cell through a thread-static access, a TLS lookup call on linux-x64) is paid only while a metrics listener collects dogpile.hits or the region sets CountHits, as MemoryCache's TrackStatistics and Caffeine's recordStats are opt-in; with it on, the hit is about {(region.MeanNs + counter.MeanNs) / dict.MeanNs:0.0}× the dictionary.";
    }

    private static IEnumerable<string> MissPathVerdict(List<Row> rows)
    {
        Row? inline = Find(rows, "InlineCompletedTcs");
        Row? hop = Find(rows, "YieldThenAwaitTcs");
        Row? timeout = Find(rows, "YieldThenAwaitTcsWithTimeout");
        Row? stale = Find(rows, "StaleHit");
        if (inline is null || hop is null || timeout is null)
        {
            yield break;
        }

        yield return $"Waiting for a creation on another thread costs {hop.MeanNs / 1000:0.0} µs here (vs {inline.MeanNs:0} ns in line), and the timed wait {timeout.MeanNs / 1000:0.0} µs and {timeout.Allocated} B: "
            + "on a busy 2-core box a thread-pool hop is microseconds. Callers that join another caller's creation pay it; the first caller of a miss runs its creator in line and does not (see *Miss* below for what it does pay).";
        if (stale is not null)
        {
            yield return $"A stale hit while a refresh runs costs {stale.MeanNs:0} ns and allocates {stale.Allocated} B (the slow path's call object and async state machines), against a fresh hit's 0 B: after a mass expiry, every request pays this until its key is refreshed.";
        }
    }

    private static Func<List<Row>, IEnumerable<string>> PeerVerdict(string what) => rows => PeerVerdictLines(rows, what);

    private static IEnumerable<string> PeerVerdictLines(List<Row> rows, string what)
    {
        Row? dogpile = Find(rows, "Dogpile");
        Row? best = rows.Where(r => s_peers.Contains(r.Method)).MinBy(r => r.MeanNs);
        if (dogpile is null || best is null)
        {
            yield break;
        }

        yield return dogpile.MeanNs <= best.MeanNs
            ? $"Dogpile's {what} is the fastest: {dogpile.MeanNs:0} ns, {dogpile.MeanNs / best.MeanNs:0.00}× the best peer ({best.Method}, {best.MeanNs:0} ns); it allocates {dogpile.Allocated} B vs {best.Allocated} B."
            : $"Dogpile LOSES on {what}: {dogpile.MeanNs:0} ns, {dogpile.MeanNs / best.MeanNs:0.00}× the best peer ({best.Method}, {best.MeanNs:0} ns); it allocates {dogpile.Allocated} B vs {best.Allocated} B.";
        if (what == "miss")
        {
            yield return "What a miss does (`Engine/CreationFlights.cs`, `CreateInLine`): with the memory backend, no value and nobody else on the key, the first caller runs dogpile's protocol in line without an async state machine: "
                + "it registers a flight (one object: its own cancellation source, the waiters' task made only if someone waits), takes the key's in-process gate (pooled, taken before it is published), re-reads, runs the creator, "
                + "reads the precise clock twice (before the creator and for the created stamp: the duration is their difference, and the store's time to live counts from the stamp), stores, and unregisters. "
                + "Allocated: the flight, the CacheEntry, the memory backend's slot and three dictionary nodes (flights, gates, entries). Anything else (another caller, a busy gate, a creator that goes asynchronous, tracing on) hands over to the general path.";
        }
        else if (what == "set")
        {
            yield return "Dogpile's set reads the precise clock (`TimeProvider.GetUtcNow`), removes any failure record from a dictionary, allocates a CacheEntry and the backend's Slot, and enqueues it on the CLOCK (evicting when over capacity); differences under ~1.5× are within this machine's noise.";
        }
    }

    /// <summary>
    /// The Zipf hit benchmark at 1 to 16 threads from a run on a 16-core machine (<c>bench/scaling</c>): throughput per
    /// thread count and library, and how each scales from one thread.
    /// </summary>
    public static string RenderScaling(string directory)
    {
        List<Row> rows = Load(directory).Where(r => r.Type == "ZipfThroughputBenchmarks").ToList();
        if (rows.Count == 0)
        {
            return $"_No scaling results found in `{directory}`._\n";
        }

        static int ThreadsOf(Row r) => int.Parse(r.Parameters["Threads=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        string[] methods = ["ConcurrentDictionary", "Dogpile", "FusionCache", "HybridCache"];
        int[] threads = rows.Select(ThreadsOf).Distinct().Order().ToArray();
        var table = new MarkdownTable(["Threads", .. methods.Select(m => $"{m} M hits/s (× 1 thread)"), "Dogpile vs best peer", "Dogpile vs dictionary"]);
        Row? Get(string method, int t) => rows.FirstOrDefault(r => r.Method == method && ThreadsOf(r) == t);
        foreach (int t in threads)
        {
            var cells = new List<object?> { t };
            foreach (string m in methods)
            {
                Row? r = Get(m, t);
                Row? one = Get(m, threads[0]);
                cells.Add(r is null || one is null ? "" : $"{1e3 / r.MeanNs:0.0} ({one.MeanNs / r.MeanNs:0.0}×)");
            }

            Row? dogpile = Get("Dogpile", t);
            Row? dict = Get("ConcurrentDictionary", t);
            double best = new[] { Get("FusionCache", t), Get("HybridCache", t) }.Where(r => r is not null).Select(r => r!.MeanNs).DefaultIfEmpty(double.NaN).Min();
            cells.Add(dogpile is null || double.IsNaN(best) ? "" : MarkdownTable.Ratio(dogpile.MeanNs, best));
            cells.Add(dogpile is null || dict is null ? "" : MarkdownTable.Ratio(dogpile.MeanNs, dict.MeanNs));
            table.Add([.. cells]);
        }

        var sb = new System.Text.StringBuilder(table.ToMarkdown()).AppendLine();
        Row? d1 = Get("Dogpile", threads[0]), dN = Get("Dogpile", threads[^1]);
        Row? c1 = Get("ConcurrentDictionary", threads[0]), cN = Get("ConcurrentDictionary", threads[^1]);
        if (d1 is not null && dN is not null && c1 is not null && cN is not null)
        {
            sb.AppendLine("**Verdict**").AppendLine();
            sb.AppendLine($"- From {threads[0]} to {threads[^1]} threads Dogpile's hits scale {d1.MeanNs / dN.MeanNs:0.0}× and the raw dictionary's {c1.MeanNs / cN.MeanNs:0.0}× ({threads[^1] / (double)threads[0]:0}× would be perfect). "
                + "Dogpile's hit writes nothing shared: the CLOCK flag only when it is clear, and the hit count (when counted) in a per-thread cell.");
            sb.AppendLine();
        }

        return sb.ToString();
    }

    private static IEnumerable<string> ZipfVerdict(List<Row> rows)
    {
        foreach (string p in new[] { "Threads=1", "Threads=2" })
        {
            Row? dogpile = Find(rows, "Dogpile", p);
            Row? dict = Find(rows, "ConcurrentDictionary", p);
            Row? best = rows.Where(r => r.Parameters == p && s_peers.Contains(r.Method)).MinBy(r => r.MeanNs);
            if (dogpile is null || dict is null || best is null)
            {
                continue;
            }

            yield return $"{p}: Dogpile {1e3 / dogpile.MeanNs:0.0} M hits/s ({dogpile.MeanNs:0.0} ns), {dogpile.MeanNs / best.MeanNs:0.00}× the best peer ({best.Method}) and {dogpile.MeanNs / dict.MeanNs:0.0}× the dictionary.";
        }

        Row? d1 = Find(rows, "Dogpile", "Threads=1");
        Row? d2 = Find(rows, "Dogpile", "Threads=2");
        Row? c1 = Find(rows, "ConcurrentDictionary", "Threads=1");
        Row? c2 = Find(rows, "ConcurrentDictionary", "Threads=2");
        if (d1 is not null && d2 is not null && c1 is not null && c2 is not null)
        {
            yield return $"Scaling from 1 to 2 threads: Dogpile {d1.MeanNs / d2.MeanNs:0.00}×, dictionary {c1.MeanNs / c2.MeanNs:0.00}× (2.0 is perfect; this shared 2-core box also runs the benchmark host and other work). "
                + "Not profiled; the candidates on Dogpile's side are the CLOCK flag (written only when clear) and the per-thread hit cells; neither is shared between threads on a hit, so the machine's two cores being shared with the load generator is the first suspect.";
        }
    }
}
