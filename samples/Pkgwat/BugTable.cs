using System.Globalization;
using System.Text;

namespace Pkgwat;

/// <summary>Renders a bug list as an aligned ID / STATUS / SUMMARY table that fits a given width, plus a cache footer.</summary>
internal static class BugTable
{
    private const string Gap = "  ";
    private const string Ellipsis = "...";

    public static void Write(TextWriter output, BugList list, int width)
    {
        width = Math.Max(width, PkgwatEnvironment.MinWidth);
        if (list.Bugs.Count > 0)
        {
            var ids = list.Bugs.Select(b => b.Id.ToString(CultureInfo.InvariantCulture)).ToList();
            var statuses = list.Bugs.Select(b => Clean(b.Status)).ToList();
            var idWidth = Math.Max("ID".Length, ids.Max(id => id.Length));
            var statusWidth = Math.Max("STATUS".Length, statuses.Max(s => s.Length));
            var summaryWidth = Math.Max(Ellipsis.Length + 1, width - idWidth - statusWidth - (2 * Gap.Length));

            output.WriteLine(Row("ID", idWidth, "STATUS", statusWidth, "SUMMARY"));
            for (var i = 0; i < list.Bugs.Count; i++)
            {
                output.WriteLine(Row(ids[i], idWidth, statuses[i], statusWidth, Truncate(Clean(list.Bugs[i].Summary), summaryWidth)));
            }
        }

        output.WriteLine(Footer(list));
    }

    /// <summary><c>1523 bugs for kernel (cache: hit, age 12s)</c>; the parenthesis lists only what the app told us.</summary>
    public static string Footer(BugList list)
    {
        var footer = new StringBuilder();
        footer.Append(CultureInfo.InvariantCulture, $"{list.Bugs.Count} {(list.Bugs.Count == 1 ? "bug" : "bugs")} for {Clean(list.Package)}");
        var details = new List<string>(2);
        if (!string.IsNullOrEmpty(list.Cache))
        {
            details.Add("cache: " + Clean(list.Cache));
        }

        if (list.Age is { } age)
        {
            details.Add(string.Create(CultureInfo.InvariantCulture, $"age {(long)age.TotalSeconds}s"));
        }

        if (details.Count > 0)
        {
            footer.Append(" (").AppendJoin(", ", details).Append(')');
        }

        return footer.ToString();
    }

    private static string Row(string id, int idWidth, string status, int statusWidth, string summary) =>
        (id.PadRight(idWidth) + Gap + status.PadRight(statusWidth) + Gap + summary).TrimEnd();

    private static string Truncate(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max - Ellipsis.Length).TrimEnd(), Ellipsis);

    /// <summary>Text from the server goes to a terminal: control characters (escape sequences, newlines) become spaces.</summary>
    internal static string Clean(string text) =>
        text.Any(char.IsControl) ? new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray()) : text;
}
