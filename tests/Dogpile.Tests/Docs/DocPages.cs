using System.Text.RegularExpressions;

namespace Dogpile.Tests.Docs;

/// <summary>Reads the docs pages and the doc tests' own sources from the repository, so tests can hold them to the code.</summary>
internal static partial class DocPages
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(RepoRoot, relativePath));

    /// <summary>The text of a page from the <c>## </c> heading that starts with <paramref name="heading"/> to the next one.</summary>
    public static string Section(string page, string heading)
    {
        int start = page.IndexOf("\n## " + heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section '## {heading}'");
        int end = page.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        return end < 0 ? page[start..] : page[start..end];
    }

    /// <summary>The page's <c>```csharp</c> blocks, each of which a test compiles (and runs).</summary>
    public static IReadOnlyList<string> CompiledBlocks(string page)
        => [.. CSharpBlock().Matches(page).Select(m => Normalize(m.Groups[1].Value))];

    /// <summary>
    /// Every stretch of the doc tests' sources between <c>// --- docs/x.md ---</c> and <c>// --- end ---</c>, in the
    /// <c>Docs/</c> folder of every test project (code that needs Redis is compiled and run by the Redis tests).
    /// </summary>
    public static IReadOnlyList<string> MarkedCode(string page)
    {
        var found = new List<string>();
        IEnumerable<string> files = Directory.GetDirectories(Path.Combine(RepoRoot, "tests"))
            .Select(project => Path.Combine(project, "Docs"))
            .Where(Directory.Exists)
            .Order(StringComparer.Ordinal)
            .SelectMany(docs => Directory.GetFiles(docs, "*.cs").Order(StringComparer.Ordinal));
        foreach (string file in files)
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != $"// --- {page} ---")
                {
                    continue;
                }

                int end = Array.FindIndex(lines, i + 1, l => l.Trim() == "// --- end ---");
                Assert.True(end > i, $"{file}: a '{page}' marker without its end");
                found.Add(Normalize(string.Join('\n', lines[(i + 1)..end])));
                i = end;
            }
        }

        return found;
    }

    // Indentation differs between a page and a test method body; lines and their order must not.
    private static string Normalize(string code)
        => string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "docs")) && Directory.Exists(Path.Combine(dir.FullName, "src", "Dogpile")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with docs/ and src/Dogpile/) is not above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
