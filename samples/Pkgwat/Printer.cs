using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Pkgwat;

/// <summary>
/// Human output through Spectre.Console (tables bounded by the width, a dim "served:" line) and machine output as JSON.
/// Without a terminal no escape codes and plain ASCII borders, so pipes and tests read clean text.
/// </summary>
internal sealed class Printer
{
    // Relaxed: the JSON goes to a terminal or a program, not into HTML, so '+' and quotes in summaries stay readable.
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string Ellipsis = "...";

    private readonly TextWriter _output;
    private readonly IAnsiConsole _console;
    private readonly bool _ansi;
    private readonly StringWriter? _plain;

    public Printer(TextWriter output, PkgwatEnvironment environment)
    {
        _output = output;
        _ansi = environment.Ansi;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            // Plain output goes through a buffer so each line loses the padding Spectre gives the widest cell.
            Out = new AnsiConsoleOutput(_ansi ? output : _plain = new StringWriter()),
            Ansi = _ansi ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = _ansi ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        Width = Math.Max(environment.Width, PkgwatEnvironment.MinWidth);
        _console.Profile.Width = Width;
    }

    public int Width { get; }

    public Table Table(params string[] headers)
    {
        var table = new Table().Border(_ansi ? TableBorder.Rounded : TableBorder.Ascii2);
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Text(header, new Style(decoration: Decoration.Bold))));
        }

        // Ids and statuses keep their width; the last column (summaries) is cut to fit (see Fit).
        for (var i = 0; i < table.Columns.Count - 1; i++)
        {
            table.Columns[i].NoWrap = true;
        }

        return table;
    }

    /// <summary>Server text as a cell: never markup, control characters blanked, one line cut to fit.</summary>
    public static IRenderable Cell(string text) => new Text(CacheInfo.Clean(text));

    public void Write(IRenderable renderable)
    {
        _console.Write(renderable);
        if (_plain is not null)
        {
            var text = _plain.ToString();
            _plain.GetStringBuilder().Clear();
            foreach (var line in text.Split('\n'))
            {
                if (line.Length > 0)
                {
                    _output.WriteLine(line.TrimEnd());
                }
            }
        }
    }

    /// <summary>Cuts a cell so a table row stays on one line: Spectre would wrap it, and a wrapped bug list is hard to scan.</summary>
    public static string Fit(string text, int width)
    {
        text = CacheInfo.Clean(text);
        width = Math.Max(width, Ellipsis.Length + 1);
        return text.Length <= width ? text : string.Concat(text.AsSpan(0, width - Ellipsis.Length).TrimEnd(), Ellipsis);
    }

    /// <summary>Room left for the last column of a table whose other columns are this wide (borders and padding: 3 a column, plus 1).</summary>
    public int LastColumnWidth(params int[] otherColumns) => Width - 1 - (3 * (otherColumns.Length + 1)) - otherColumns.Sum();

    public void Line(string text) => Write(new Text(CacheInfo.Clean(text) + "\n"));

    public void Dim(string text) => Write(new Text(CacheInfo.Clean(text) + "\n", new Style(decoration: Decoration.Dim)));

    /// <summary>The dim <c>served: fresh, age 12s</c> line, when the app sent cache headers.</summary>
    public void Served(CacheInfo cache)
    {
        if (!cache.IsEmpty)
        {
            Dim(cache.Describe());
        }
    }

    /// <summary>Label / value rows of an object, skipping members the app did not send.</summary>
    public void Fields(JsonElement body, params (string Label, string Member)[] fields)
    {
        var grid = new Grid().AddColumn(new GridColumn { NoWrap = true, Padding = new Padding(0, 0, 2, 0) }).AddColumn();
        foreach (var (label, member) in fields)
        {
            if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty(member, out _))
            {
                grid.AddRow(new Text(label, new Style(decoration: Decoration.Bold)), new Text(CacheInfo.Clean(Text(body, member))));
            }
        }

        Write(grid);
    }

    /// <summary>The app's JSON object with a <c>cache</c> member added.</summary>
    public void Json(ApiReply reply) => Json(w =>
    {
        if (reply.Body.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in reply.Body.EnumerateObject())
            {
                member.WriteTo(w);
            }
        }
        else
        {
            w.WritePropertyName("data");
            reply.Body.WriteTo(w);
        }

        WriteCache(w, reply.Cache);
    });

    public void Json(Action<Utf8JsonWriter> members)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            members(w);
            w.WriteEndObject();
        }

        _output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>One compact JSON value on one line (JSON Lines, for <c>watch --json</c>).</summary>
    public void JsonLine(JsonElement value)
    {
        _output.WriteLine(JsonSerializer.Serialize(value));
        _output.Flush();
    }

    public static void WriteCache(Utf8JsonWriter w, CacheInfo? cache)
    {
        if (cache is null || cache.IsEmpty)
        {
            return;
        }

        w.WriteStartObject("cache");
        Optional(w, "state", cache.State);
        Optional(w, "xCache", cache.XCache);
        Optional(w, "region", cache.Region);
        Optional(w, "ageSeconds", cache.AgeSeconds);
        Optional(w, "created", cache.Created);
        Optional(w, "waitedMs", cache.WaitedMs);
        Optional(w, "fetchedBy", cache.FetchedBy);
        Optional(w, "failingSince", cache.FailingSince);
        w.WriteEndObject();
    }

    /// <summary>A member as text, whatever its JSON kind; empty when missing.</summary>
    public static string Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : v.GetRawText()
            : "";

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Optional(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } n)
        {
            w.WriteNumber(name, n);
        }
    }
}
