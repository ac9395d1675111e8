using System.Globalization;
using System.Text;

namespace Dogpile.Scenarios.Harness;

public sealed class MarkdownTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public string? Caption { get; init; }

    public string[] Headers { get; } = headers;

    public IReadOnlyList<string[]> Rows => _rows;

    public MarkdownTable Add(params object?[] cells)
    {
        _rows.Add(cells.Select(Format).ToArray());
        return this;
    }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        if (Caption is not null)
        {
            sb.AppendLine(Caption).AppendLine();
        }

        sb.Append("| ").AppendJoin(" | ", Headers).AppendLine(" |");
        sb.Append('|').AppendJoin('|', Headers.Select((_, i) => i == 0 ? " --- " : " ---: ")).AppendLine("|");
        foreach (string[] row in _rows)
        {
            sb.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        }

        return sb.ToString();
    }

    public static string Format(object? value) => value switch
    {
        null => "",
        double d when double.IsNaN(d) => "n/a",
        double d => d.ToString(Math.Abs(d) >= 100 ? "N0" : Math.Abs(d) >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture),
        long l => l.ToString("N0", CultureInfo.InvariantCulture),
        int i => i.ToString("N0", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    public static string Ratio(double value, double best)
        => best > 0 && !double.IsNaN(value) ? (value / best).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "n/a";
}
