using System.Globalization;

namespace Dogpile.DistributedBenchmarks;

/// <summary>
/// The issue's targets as a scenario judged them, written next to its section (<c>part.md.targets</c>, tab-separated,
/// the board order first) so the parent can merge every scenario's into one file, and <c>bench/run.sh</c> put them on
/// the one "targets at a glance" board of <c>docs/benchmarks.md</c>.
/// </summary>
internal static class Targets
{
    private static readonly List<(int Order, string Target, string Measured, bool Met)> s_items = [];

    public static void Add(int order, string target, string measured, bool met)
    {
        lock (s_items)
        {
            s_items.Add((order, target, measured, met));
        }
    }

    public static Task WriteAsync(string path)
    {
        lock (s_items)
        {
            return File.WriteAllLinesAsync(path, s_items.OrderBy(i => i.Order).Select(i => string.Create(
                CultureInfo.InvariantCulture,
                $"{i.Order}\t{Clean(i.Target)}\t{Clean(i.Measured)}\t{(i.Met ? "yes" : "no")}")));
        }
    }

    private static string Clean(string text) => text.Replace('\t', ' ').ReplaceLineEndings(" ");
}
