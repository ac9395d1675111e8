using System.Collections.Frozen;

namespace Packages.Upstream.Data;

/// <summary>The tracker's data: every package name (sorted, ordinal) and its bugs, generated once from a seed.</summary>
internal sealed partial class BugCatalog
{
    /// <summary>Seed used when none is configured: the day the seed story was posted.</summary>
    public const int DefaultSeed = 20130207;

    private readonly FrozenDictionary<string, int> _indexByName;

    private BugCatalog(IReadOnlyList<string> names, IReadOnlyList<IReadOnlyList<Bug>> bugs)
    {
        PackageNames = names;
        Bugs = bugs;
        // Package names are case-sensitive in Fedora (perl-XML-Parser), so lookups are ordinal.
        _indexByName = names.Select((name, index) => KeyValuePair.Create(name, index)).ToFrozenDictionary(StringComparer.Ordinal);
        MaxBugCount = bugs.Max(list => list.Count);
    }

    public IReadOnlyList<string> PackageNames { get; }

    /// <summary>Bugs per package, indexed like <see cref="PackageNames"/>.</summary>
    public IReadOnlyList<IReadOnlyList<Bug>> Bugs { get; }

    public int MaxBugCount { get; }

    public bool TryGetIndex(string package, out int index) => _indexByName.TryGetValue(package, out index);

    public IEnumerable<string> Search(string text) =>
        PackageNames.Where(name => name.Contains(text, StringComparison.OrdinalIgnoreCase));
}
