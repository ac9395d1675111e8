using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Dogpile.Tests.Docs;

/// <summary>README.md's package table says what each package depends on: exactly its project and package references.</summary>
public sealed partial class ReadmePackagesTests
{
    public static TheoryData<string> Projects => new() { "src/Dogpile", "src/Dogpile.Redis", "src/Dogpile.Memcached", "tools/Dogpile.Cli" };

    [Theory]
    [MemberData(nameof(Projects))]
    public void DependsOnColumn_NamesExactlyTheProjectsReferences(string project)
    {
        string readme = DocPages.Read("README.md");
        Match row = Regex.Match(readme, $@"^\| `{Regex.Escape(project)}` \|.*\| (?<deps>[^|]+) \|$", RegexOptions.Multiline);
        Assert.True(row.Success, $"README.md has no package row for {project}");

        // Parenthesised notes ("(its health check)") explain a dependency; the names are what is checked.
        string[] listed = [.. ParenthesisedNote().Replace(row.Groups["deps"].Value, "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];

        string name = Path.GetFileName(project);
        XDocument csproj = XDocument.Load(Path.Combine(DocPages.RepoRoot, project, name + ".csproj"));
        string[] referenced =
        [
            .. csproj.Descendants("PackageReference").Select(e => (string)e.Attribute("Include")!)
                .Concat(csproj.Descendants("ProjectReference").Select(e => Path.GetFileNameWithoutExtension((string)e.Attribute("Include")!)))
                .Order(StringComparer.Ordinal),
        ];

        Assert.Equal(referenced, listed);
    }

    [GeneratedRegex(@"\s*\([^)]*\)")]
    private static partial Regex ParenthesisedNote();
}
