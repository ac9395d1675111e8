using System.Globalization;
using System.Text;
using Dogpile.DistributedBenchmarks;

// Dogpile.DistributedBenchmarks run <redis host:port> <memcached host:port> <out.md> [scenario...]
//   Runs the scenarios (all by default: stampede-redis, hits, connections, stampede-memcached, queue, killed) and writes
//   their markdown sections to <out.md>; bench/run-distributed.sh adds the machine header and writes the doc.
// Dogpile.DistributedBenchmarks child <mode> ...
//   A child OS process of a cross-process scenario (stampede, lock-holder, lock-waiter).
if (args.Length >= 1 && args[0] == "child")
{
    return args[1] switch
    {
        "stampede" => await Stampede.ChildAsync(args[2], args[3], args[4], int.Parse(args[5], CultureInfo.InvariantCulture)),
        "lock-holder" => await LockHolderKilled.HolderAsync(args[2], args[3], args[4]),
        "lock-waiter" => await LockHolderKilled.WaiterAsync(args[2], args[3], args[4]),
        _ => 2,
    };
}

if (args.Length < 4 || args[0] != "run")
{
    Console.Error.WriteLine("usage: Dogpile.DistributedBenchmarks run <redis host:port> <memcached host:port> <out.md> [scenario...]");
    return 2;
}

string redis = args[1], memcached = args[2], output = args[3];
string[] all = ["stampede-redis", "hits", "connections", "stampede-memcached", "queue", "killed"];
string[] order = ["stampede-redis", "stampede-memcached", "killed", "hits", "connections", "queue"];
string[] selected = args.Length > 4 ? args[4..] : all;
var sections = new SortedDictionary<int, string>();
foreach (string scenario in all.Where(selected.Contains))
{
    var watch = System.Diagnostics.Stopwatch.StartNew();
    Console.WriteLine($"== {scenario}");
    try
    {
        string section = scenario switch
        {
            "stampede-redis" => await Sections.StampedeRedisAsync(redis),
            "hits" => await Sections.HitsAsync(redis, memcached),
            "connections" => await Sections.ConnectionsAsync(redis, memcached),
            "stampede-memcached" => await Sections.StampedeMemcachedAsync(memcached),
            "queue" => await Sections.QueueAsync(redis),
            "killed" => await Sections.KilledAsync(redis, memcached),
            _ => throw new ArgumentException(scenario),
        };
        sections[Array.IndexOf(order, scenario)] = section;
    }
    catch (Exception ex)
    {
        // A scenario that breaks is reported as broken, and the others still run.
        sections[Array.IndexOf(order, scenario)] = string.Create(CultureInfo.InvariantCulture, $"## {scenario}\n\n**Failed to run:** `{ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}`\n\n");
        Console.Error.WriteLine(ex);
    }

    Console.WriteLine($"   {scenario} took {watch.Elapsed.TotalSeconds:F1} s");
    // Written after every scenario, in the doc's numbering (the run order is the priority order).
    await File.WriteAllTextAsync(output, string.Concat(sections.Values));
    await Targets.WriteAsync(output + ".targets");
}

return 0;
