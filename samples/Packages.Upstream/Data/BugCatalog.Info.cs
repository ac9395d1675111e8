using System.Collections.Frozen;
using System.Globalization;

namespace Packages.Upstream.Data;

internal sealed partial class BugCatalog
{
    // What the best-known packages are; the rest get a summary from their family (python3-, perl-, ...).
    private static readonly FrozenDictionary<string, string> KnownSummaries = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["kernel"] = "The Linux kernel",
        ["firefox"] = "Mozilla Firefox Web browser",
        ["glibc"] = "The GNU libc libraries",
        ["python3"] = "Python 3 interpreter",
        ["gcc"] = "Various compilers (C, C++, Objective-C, ...)",
        ["systemd"] = "System and Service Manager",
        ["bash"] = "The GNU Bourne Again shell",
        ["coreutils"] = "A set of basic GNU tools commonly used in shell scripts",
        ["openssl"] = "Utilities from the general purpose cryptography library with TLS implementation",
        ["httpd"] = "Apache HTTP Server",
        ["nginx"] = "A high performance web server and reverse proxy server",
        ["postgresql"] = "PostgreSQL client programs",
        ["gnome-shell"] = "Window management and application launching for GNOME",
        ["thunderbird"] = "Mozilla Thunderbird mail/newsgroup client",
        ["libreoffice"] = "Free Software Productivity Suite",
        ["anaconda"] = "Graphical system installer",
        ["dnf"] = "Package manager",
        ["rpm"] = "The RPM package management system",
        ["vim"] = "The VIM editor",
        ["emacs"] = "GNU Emacs text editor",
        ["git"] = "Fast Version Control System",
        ["curl"] = "A utility for getting files from remote servers (FTP, HTTP, and others)",
        ["podman"] = "Manage Pods, Containers and Container Images",
        ["mesa"] = "Mesa graphics libraries",
        ["chromium"] = "A WebKit (Blink) powered web browser",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly (string Prefix, string Summary)[] FamilySummaries =
    [
        ("python3-", "Python 3 module: {0}"), ("perl-", "Perl module {0}"), ("rubygem-", "Ruby gem {0}"),
        ("golang-github-", "Go library github.com/{0}"), ("texlive-", "TeX Live package {0}"), ("rust-", "Rust crate \"{0}\""),
        ("ghc-", "Haskell {0} library"), ("nodejs-", "Node.js module {0}"), ("R-", "R package {0}"), ("php-", "PHP {0}"),
        ("mingw64-", "MinGW Windows {0} cross-compiled"), ("xfce4-", "Xfce {0}"), ("gnome-", "GNOME {0}"), ("lib", "The {0} library"),
    ];

    private static readonly string[] Licenses = ["GPL-2.0-only", "GPL-3.0-or-later", "LGPL-2.1-or-later", "MIT", "BSD-3-Clause", "Apache-2.0", "MPL-2.0"];

    private static readonly string[] Maintainers = ["jforbes", "mgrepl", "pbrobinson", "sgallagh", "kalev", "ngompa", "churchyard", "decathorpe", "salimma", "ppisar"];

    private FrozenDictionary<int, (int Package, int Bug)>? _bugsById;

    /// <summary>The overview of the package at <paramref name="index"/>.</summary>
    public PackageInfo GetInfo(int index)
    {
        var name = PackageNames[index];
        var random = new DeterministicRandom(StableHash(name));
        var summary = KnownSummaries.TryGetValue(name, out var known) ? known : FamilySummary(name);
        var version = string.Create(CultureInfo.InvariantCulture, $"{random.Next(1, 7)}.{random.Next(0, 20)}.{random.Next(0, 10)}");
        var description = $"{summary}. This is the simulator's description of {name}: the package database answers it with its own latency, "
            + "so the overview page exercises a second cache region next to the bug lists.";
        return new PackageInfo(
            name,
            summary,
            description,
            $"https://example.org/projects/{Uri.EscapeDataString(name)}",
            random.Pick(Licenses),
            random.Pick(Maintainers),
            version,
            Bugs[index].Count);
    }

    /// <summary>One bug by id, with its package; <see langword="false"/> for an id no package has.</summary>
    public bool TryGetBug(int id, out BugDetail bug)
    {
        var byId = _bugsById ??= Bugs
            .SelectMany((list, package) => list.Select((b, i) => KeyValuePair.Create(b.Id, (package, i))))
            .ToFrozenDictionary();
        if (!byId.TryGetValue(id, out var at))
        {
            bug = null!;
            return false;
        }

        var found = Bugs[at.Package][at.Bug];
        var package = PackageNames[at.Package];

        // The reported date follows the id, as bugzilla's do: older bugs have lower ids.
        var reported = new DateOnly(2011, 1, 1).AddDays((found.Id - 700_000) / 1000);
        bug = new BugDetail(found.Id, package, found.Summary, found.Status, package, reported.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        return true;
    }

    private static string FamilySummary(string name)
    {
        foreach (var (prefix, format) in FamilySummaries)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length)
            {
                return string.Format(CultureInfo.InvariantCulture, format, name[prefix.Length..]);
            }
        }

        return $"The {name} package";
    }

    // string.GetHashCode is randomized per process; the data must not be.
    private static ulong StableHash(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
