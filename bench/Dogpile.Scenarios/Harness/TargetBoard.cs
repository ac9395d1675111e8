namespace Dogpile.Scenarios.Harness;

/// <summary>The project's performance targets as read from this run's numbers, for the summary table. Never asserted.</summary>
public static class TargetBoard
{
    private static readonly List<(int Order, string Target, string Measured, bool Met)> s_items = [];

    public static void Add(int order, string target, string measured, bool met)
    {
        lock (s_items)
        {
            s_items.Add((order, target, measured, met));
        }
    }

    public static string ToMarkdown()
    {
        var table = new MarkdownTable("Target", "This run", "Met?");
        lock (s_items)
        {
            foreach (var item in s_items.OrderBy(i => i.Order))
            {
                table.Add(item.Target, item.Measured, item.Met ? "yes" : "**no**");
            }
        }

        return table.ToMarkdown();
    }
}
