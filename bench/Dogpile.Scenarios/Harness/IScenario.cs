namespace Dogpile.Scenarios.Harness;

/// <summary>Where a scenario runs: in this process only, or against shared servers (Redis, memcached).</summary>
public enum ScenarioKind
{
    InProcess,
    Distributed,
}

/// <summary>
/// One measured situation. The runner discovers every non-abstract implementation in this assembly, so a new
/// scenario (cross-process stampede, lock holder killed, L2 hits, ...) is one more class: no registration.
/// </summary>
public interface IScenario
{
    /// <summary>Short id used by <c>--filter</c>, e.g. <c>stampede</c>.</summary>
    string Id { get; }

    /// <summary>Section title in the report.</summary>
    string Title { get; }

    ScenarioKind Kind { get; }

    /// <summary>Orders sections in the report (lower first).</summary>
    int Order { get; }

    /// <summary>Runs every peer through the scenario; must finish in under 30 s.</summary>
    Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken);
}

/// <summary>What a scenario gets from the runner.</summary>
public sealed class ScenarioContext
{
    /// <summary>Scales every duration (1.0 for the report; smaller for a smoke run).</summary>
    public double TimeScale { get; init; } = 1.0;

    public TextWriter Log { get; init; } = Console.Error;

    public TimeSpan Scale(TimeSpan t) => TimeSpan.FromTicks((long)(t.Ticks * TimeScale));
}

/// <summary>A scenario's findings: its setup, tables and verdict, rendered as markdown.</summary>
public sealed class ScenarioResult
{
    public required string Title { get; init; }

    /// <summary>What was run, in a sentence or two, with the exact parameters.</summary>
    public required string Setup { get; init; }

    public List<MarkdownTable> Tables { get; } = [];

    /// <summary>One bullet per finding, computed from the numbers (targets met or missed, and where Dogpile loses).</summary>
    public List<string> Verdict { get; } = [];

    public string ToMarkdown(string heading = "###")
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{heading} {Title}").AppendLine().AppendLine(Setup).AppendLine();
        foreach (MarkdownTable table in Tables)
        {
            sb.Append(table.ToMarkdown()).AppendLine();
        }

        if (Verdict.Count > 0)
        {
            sb.AppendLine("**Verdict**").AppendLine();
            foreach (string line in Verdict)
            {
                sb.AppendLine($"- {line}");
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }
}
