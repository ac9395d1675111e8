using System.Globalization;
using Dogpile.DistributedBenchmarks;

// Dogpile.DistributedBenchmarks run <redis host:port> <memcached host:port> <out.md> [scenario...]
//   Runs the scenarios (all by default: stampede-redis, hits, near, connections, stampede-memcached, queue, killed, outage), each in a
//   process of its own, and writes their markdown sections to <out.md> and their targets to <out.md>.targets;
//   bench/run-distributed.sh adds the machine header and writes the doc.
// Dogpile.DistributedBenchmarks scenario <redis host:port> <memcached host:port> <part.md> <scenario>
//   One scenario, in this process: its section to <part.md>, its targets (with their order) to <part.md>.targets.
// Dogpile.DistributedBenchmarks child <mode> ...
//   A child OS process of a cross-process scenario (stampede, lock-holder, lock-waiter, near-reader).
if (args.Length >= 1 && args[0] == "child")
{
    return args[1] switch
    {
        "stampede" => await Stampede.ChildAsync(args[2], args[3], args[4], int.Parse(args[5], CultureInfo.InvariantCulture)),
        "lock-holder" => await LockHolderKilled.HolderAsync(args[2], args[3], args[4]),
        "lock-waiter" => await LockHolderKilled.WaiterAsync(args[2], args[3], args[4]),
        "near-reader" => await Sections.NearReaderAsync(args[2], args[3], args[4]),
        _ => 2,
    };
}

if (args.Length >= 5 && args[0] == "scenario")
{
    return await Scenario.RunOneAsync(args[1], args[2], args[3], args[4]);
}

if (args.Length < 4 || args[0] != "run")
{
    Console.Error.WriteLine("usage: Dogpile.DistributedBenchmarks run <redis host:port> <memcached host:port> <out.md> [scenario...]");
    return 2;
}

string redis = args[1], memcached = args[2], output = args[3];
string[] selected = args.Length > 4 ? args[4..] : Scenario.All;
if (selected.Except(Scenario.All).ToArray() is { Length: > 0 } unknown)
{
    Console.Error.WriteLine($"unknown scenario(s): {string.Join(", ", unknown)}; known: {string.Join(", ", Scenario.All)}");
    return 2;
}

var sections = new SortedDictionary<int, string>();
var targets = new List<(int Order, string Line)>();
foreach (string scenario in Scenario.All.Where(selected.Contains))
{
    // Each scenario in a fresh process: none inherits another's heap, thread pool, JIT state or connections. (In one
    // process, the L2-hit readers once measured lower after the stampede scenario while the raw reader did not.)
    string part = $"{output}.{scenario}";
    int exit = await Scenario.RunInChildAsync(redis, memcached, part, scenario);
    sections[Scenario.DocOrder(scenario)] = File.Exists(part)
        ? await File.ReadAllTextAsync(part)
        : string.Create(CultureInfo.InvariantCulture, $"## {scenario}\n\n**Failed to run:** its process exited with code {exit} before writing a section.\n\n");
    if (File.Exists(part + ".targets"))
    {
        targets.AddRange((await File.ReadAllLinesAsync(part + ".targets")).Select(line => (int.Parse(line[..line.IndexOf('\t')], CultureInfo.InvariantCulture), line[(line.IndexOf('\t') + 1)..])));
    }

    File.Delete(part);
    File.Delete(part + ".targets");

    // Written after every scenario, in the doc's numbering (the run order is the priority order).
    await File.WriteAllTextAsync(output, string.Concat(sections.Values));
    await File.WriteAllLinesAsync(output + ".targets", targets.OrderBy(t => t.Order).Select(t => t.Line));
}

return 0;
