using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dogpile.Testing;

namespace Dogpile.Soak;

/// <summary>
/// The heap after GC when the cache held one value (code paths warmed) and when it held every value once, the size of
/// those values as the tracker's JSON, and the entries the app reported then. Memory mode only.
/// </summary>
internal sealed record LiveData(double BaselineHeapMb, double FilledHeapMb, double JsonMb, int Entries, int Names)
{
    /// <summary>What holding every value once costs in the heap: the live data.</summary>
    public double LiveMb => FilledHeapMb - BaselineHeapMb;
}

internal sealed record ModeResult(SoakMode Mode, IReadOnlyList<Sample> Samples, IReadOnlyList<Verdict> Verdicts, LoadResult Load, LiveData? Live);

/// <summary>One mode: start its processes, fill the cache, drive the load while sampling, stop everything.</summary>
internal static partial class SoakRun
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    public static async Task<ModeResult> RunAsync(SoakMode mode, SoakSettings settings, CancellationToken cancellationToken)
    {
        string samples = Path.Combine(settings.RepoRoot, "samples");
        string Dll(string project) => Path.Combine(samples, project, "bin", "Release", "net10.0", project + ".dll");
        string[] common =
        [
            "--Cache:ExpirationSeconds", settings.ExpirationSeconds.ToString(CultureInfo.InvariantCulture),
            "--Upstream:DelayScale", settings.DelayScale.ToString(CultureInfo.InvariantCulture),
        ];
        var children = new List<ChildProcess>();
        ServerProcess? redis = null;
        RedisInfo? redisInfo = null;
        try
        {
            string[] webArgs = ["--urls", "http://127.0.0.1:0", "--Diagnostics:Enabled", "true", .. common];
            ChildProcess? worker = null;
            if (mode == SoakMode.Redis)
            {
                redis = ServerProcess.Redis();
                await redis.StartAsync();
                redisInfo = await RedisInfo.ConnectAsync(redis.Port);

                // The worker refreshes from a tracker of its own configuration, so the tracker is a process both share.
                var tracker = new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/");
                children.Add(StartApp("Packages.Upstream", Dll("Packages.Upstream"), ["--urls", tracker.ToString(), .. common]));
                await WaitUntilAnswersAsync(children[^1], new Uri(tracker, "packages"), cancellationToken);
                string[] distributed = ["--Cache:Backend", "redis", "--Cache:Connection", redis.Endpoint, "--Cache:Refresh", "queue", "--Upstream:Url", tracker.ToString()];
                webArgs = [.. webArgs, .. distributed];
                worker = StartApp("Packages.Worker", Dll("Packages.Worker"), [.. common, .. distributed]);
                children.Add(worker);
                await worker.WaitForMatchAsync(WorkerReady(), StartTimeout);
            }

            var web = StartApp("Packages.Web", Dll("Packages.Web"), webArgs);
            children.Add(web);
            var address = new Uri((await web.WaitForMatchAsync(WebReady(), StartTimeout)).Groups[1].Value);
            Console.WriteLine($"[{mode}] web pid {web.Id} at {address}{(worker is null ? "" : $", worker pid {worker.Id}, redis-server on {redis!.Endpoint}")}");

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

            // A client of its own: a full GC of a large heap may take a while, and must not wait behind the load's queue.
            using var diagnostics = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

            string[] names = await PackageNamesAsync(http, settings.UnknownNames, cancellationToken);
            string[] paths = names.SelectMany(n => (string[])[$"api/packages/{n}/bugs", $"packages/{n}/bugs"]).ToArray();

            // Warm the code paths on one package, then measure the app with (almost) nothing cached.
            for (int i = 0; i < 5; i++)
            {
                (await http.GetAsync(paths[0], cancellationToken)).Dispose();
                (await http.GetAsync(paths[1], cancellationToken)).Dispose();
            }

            Memory baseline = await ReadMemoryAsync(diagnostics, cancellationToken);
            double jsonMb = await FillAsync(http, names, settings.Concurrency, cancellationToken);
            Memory filled = await ReadMemoryAsync(diagnostics, cancellationToken);
            LiveData? live = mode == SoakMode.Memory ? new LiveData(baseline.HeapMb, filled.HeapMb, jsonMb, filled.BugEntries ?? 0, names.Length) : null;
            Console.WriteLine($"[{mode}] {names.Length} names; heap {baseline.HeapMb:F1} MB with one cached, {filled.HeapMb:F1} MB with all ({jsonMb:F2} MB of JSON); load {settings.Rate}/s for {settings.Duration.TotalSeconds:F0} s");

            var load = new LoadDriver(http, paths, settings.Rate, settings.Concurrency, settings.Duration);
            Task<LoadResult> loading = load.RunAsync(cancellationToken);
            var taken = new List<Sample>();
            var clock = Stopwatch.StartNew();
            int count = (int)(settings.Duration / settings.SampleEvery);
            for (int k = 0; k <= count; k++)
            {
                TimeSpan due = settings.SampleEvery * k;
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed, cancellationToken);
                }

                double at = clock.Elapsed.TotalSeconds;

                // /proc first: the forced GC that the heap figure needs would shrink the RSS it reports.
                ProcStats webStats = ProcStats.Read(web.Id, redis?.Port ?? 0);
                ProcStats? workerStats = worker is null ? null : ProcStats.Read(worker.Id, redis!.Port);
                (double UsedMb, int Clients)? redisStats = redisInfo is null ? null : await redisInfo.ReadAsync(cancellationToken);
                Memory memory = await ReadMemoryAsync(diagnostics, cancellationToken);
                var sample = new Sample(at, webStats, memory.HeapMb, workerStats, redisStats?.UsedMb, redisStats?.Clients);
                taken.Add(sample);
                Console.WriteLine(
                    $"[{mode}] t={at,5:F0}s rss={webStats.RssMb,6:F0}MB heap={memory.HeapMb,7:F1}MB threads={webStats.Threads,3} fds={webStats.Fds,4} conns={webStats.Connections,3}"
                    + (workerStats is { } w ? $" redis-conns={webStats.ConnectionsToPort} worker-rss={w.RssMb:F0}MB redis={redisStats!.Value.UsedMb:F1}MB" : ""));
                foreach (ChildProcess child in children.Where(c => c.HasExited))
                {
                    throw new InvalidOperationException($"{child.Name} exited during the soak (code {child.ExitCode}); its stderr: {(child.StandardError is { Length: > 0 } errors ? errors : "(empty)")}");
                }
            }

            LoadResult result = await loading;
            IReadOnlyList<Series> series = mode == SoakMode.Memory ? Series.Memory : Series.Redis;
            return new ModeResult(mode, taken, series.Select(s => s.Judge(taken)).ToList(), result, live);
        }
        finally
        {
            // The web app before the worker and redis: nothing is left to reconnect to them.
            foreach (ChildProcess child in Enumerable.Reverse(children))
            {
                child.Dispose();
            }

            redisInfo?.Dispose();
            redis?.Dispose();
        }
    }

    /// <summary>
    /// One of the showcase's processes, <c>dotnet X.dll args</c> from its Release build, as a user runs it. Request logs
    /// are off: they would cost CPU the soak should spend on requests, and fill the pipe that is only skimmed.
    /// </summary>
    private static ChildProcess StartApp(string name, string dll, IEnumerable<string> args)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build Release first (bench/soak.sh does).", dll);
        }

        return ChildProcess.StartDotnet(dll, args, new ChildProcessOptions
        {
            Name = name,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            Environment = { ["Logging__LogLevel__Default"] = "Warning", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },

            // The last lines only: a long soak must not grow the harness's own memory.
            StandardErrorLines = 40,
        });
    }

    private sealed record Memory(double HeapMb, int? BugEntries);

    private static async Task<Memory> ReadMemoryAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync("diagnostics/memory", cancellationToken));
        JsonElement root = json.RootElement;
        int? entries = root.GetProperty("regions").EnumerateArray()
            .Where(r => r.GetProperty("name").GetString() == "bugs")
            .Select(r => r.GetProperty("entries").ValueKind == JsonValueKind.Number ? r.GetProperty("entries").GetInt32() : (int?)null)
            .FirstOrDefault();
        return new Memory(root.GetProperty("heapAfterGcBytes").GetInt64() / (1024.0 * 1024.0), entries);
    }

    /// <summary>Every package the tracker knows, and some it does not (their 404 answers are cached too).</summary>
    private static async Task<string[]> PackageNamesAsync(HttpClient http, int unknown, CancellationToken cancellationToken)
    {
        var list = await http.GetFromJsonAsync<PackageList>("api/packages", cancellationToken)
            ?? throw new InvalidOperationException("api/packages answered null.");
        return [.. list.Packages, .. Enumerable.Range(0, unknown).Select(i => $"soak-unknown-{i}")];
    }

    private sealed record PackageList(string[] Packages);

    /// <summary>Asks for every name's bugs once, so every key is cached; returns the JSON's size: the live data.</summary>
    private static async Task<double> FillAsync(HttpClient http, string[] names, int concurrency, CancellationToken cancellationToken)
    {
        long bytes = 0;
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            // Unknown names answer 404, cached like a bug list: their bodies are live data too.
            using HttpResponseMessage response = await http.GetAsync($"api/packages/{name}/bugs", ct).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            Interlocked.Add(ref bytes, body.Length);
        });
        return bytes / (1024.0 * 1024.0);
    }

    private static async Task WaitUntilAnswersAsync(ChildProcess process, Uri url, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                (await http.GetAsync(url, cancellationToken)).EnsureSuccessStatusCode().Dispose();
                return;
            }
            catch (HttpRequestException) when (waited.Elapsed < StartTimeout && !process.HasExited)
            {
            }
            catch (TaskCanceledException) when (waited.Elapsed < StartTimeout && !process.HasExited && !cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    [GeneratedRegex(@"^Dogpile packages app: open (http\S+)$")]
    private static partial Regex WebReady();

    [GeneratedRegex(@"^Dogpile packages worker ")]
    private static partial Regex WorkerReady();
}
