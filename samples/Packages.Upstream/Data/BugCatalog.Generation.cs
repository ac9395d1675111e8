namespace Packages.Upstream.Data;

internal sealed partial class BugCatalog
{
    /// <summary>The seed story's worst case: kernel's bug list is the one that took minutes to load.</summary>
    public const int KernelBugCount = 1500;

    // Well-known packages get tens to hundreds of bugs; kernel is pinned to the top separately.
    private static readonly string[] CorePackages =
    [
        "kernel", "firefox", "glibc", "python3", "gcc", "systemd", "bash", "coreutils", "openssl", "httpd", "nginx",
        "postgresql", "gnome-shell", "thunderbird", "libreoffice", "anaconda", "selinux-policy", "xorg-x11-server",
        "NetworkManager", "mesa", "chromium", "dnf", "rpm", "grub2", "pulseaudio", "gnome-software", "evolution",
        "gtk3", "qemu", "libvirt", "java-17-openjdk", "emacs", "vim", "mariadb", "openssh", "sudo", "util-linux",
        "shadow-utils", "cups", "samba", "bind", "dbus", "polkit", "plasma-workspace", "gimp", "inkscape", "golang",
        "rust", "nodejs", "ruby", "perl", "php", "git", "curl", "wget", "tar", "gzip", "zsh", "tmux", "firewalld",
        "podman", "moby-engine", "cockpit", "ansible", "fedora-release", "abrt", "dracut", "plymouth", "gdm",
        "mutter", "nautilus", "ImageMagick", "ffmpeg-free", "gstreamer1", "wireshark", "valgrind", "gdb",
        "binutils", "make", "cmake", "llvm", "clang", "xfce4-panel", "lvm2", "mdadm", "e2fsprogs", "xfsprogs",
        "btrfs-progs", "openldap", "krb5", "sssd", "freeipa", "389-ds-base", "tomcat", "dovecot", "postfix",
        "sendmail", "rsyslog", "logrotate", "cronie", "pam", "ntfs-3g", "fuse", "bluez", "alsa-lib", "pipewire",
        "wireplumber", "flatpak", "ostree", "rpm-ostree", "toolbox", "setroubleshoot", "audit", "kexec-tools",
    ];

    // Smaller packages: "<prefix><name>" families as Fedora names its language stacks.
    private static readonly (string Prefix, string[] Names)[] PackageFamilies =
    [
        ("python3-", ["requests", "urllib3", "six", "setuptools", "pip", "numpy", "scipy", "django", "flask", "jinja2",
            "pyyaml", "lxml", "cryptography", "dateutil", "pytz", "sqlalchemy", "pillow", "psutil", "pytest", "mock",
            "boto3", "botocore", "docutils", "sphinx", "pygments", "markupsafe", "idna", "chardet", "certifi",
            "simplejson", "twisted", "tornado", "gevent", "greenlet", "paramiko", "babel", "click", "attrs",
            "beautifulsoup4", "coverage"]),
        ("perl-", ["XML-Parser", "DBI", "DBD-MySQL", "libwww-perl", "Moose", "Test-Simple", "JSON-XS", "Try-Tiny",
            "DateTime", "URI", "HTML-Parser", "Module-Build", "File-Temp", "IO-Socket-SSL", "Net-SSLeay", "Digest-SHA",
            "Encode", "Getopt-Long", "Text-CSV", "YAML-LibYAML", "Mojolicious", "Template-Toolkit"]),
        ("rubygem-", ["rails", "rake", "bundler", "rack", "nokogiri", "json", "rspec", "activesupport", "actionpack",
            "sinatra", "thor", "minitest", "puma", "i18n", "mime-types", "rdoc", "sass", "haml"]),
        ("golang-github-", ["spf13-cobra", "spf13-pflag", "stretchr-testify", "sirupsen-logrus", "gorilla-mux",
            "pkg-errors", "davecgh-go-spew", "google-uuid", "prometheus-client-golang", "coreos-go-systemd",
            "opencontainers-runc", "containers-image", "burntsushi-toml", "mattn-go-sqlite3", "fsnotify-fsnotify",
            "hashicorp-hcl", "urfave-cli", "json-iterator-go", "golang-groupcache", "gogo-protobuf"]),
        ("texlive-", ["amsmath", "beamer", "biblatex", "booktabs", "collection-latex", "fontspec", "geometry",
            "hyperref", "listings", "pgf", "xcolor", "babel-english", "caption", "cleveref", "enumitem", "fancyhdr",
            "microtype", "siunitx", "tikz-cd", "xetex"]),
        ("rust-", ["serde", "serde_json", "tokio", "clap", "rand", "regex", "libc", "syn", "quote", "proc-macro2",
            "anyhow", "thiserror", "log", "bitflags", "hyper", "reqwest"]),
        ("ghc-", ["aeson", "text", "bytestring", "containers", "mtl", "parsec", "lens", "pandoc-types", "QuickCheck",
            "vector", "attoparsec", "http-client"]),
        ("nodejs-", ["express", "lodash", "async", "commander", "debug", "glob", "minimist", "semver", "uglify-js",
            "underscore", "mkdirp", "colors"]),
        ("R-", ["ggplot2", "Rcpp", "dplyr", "stringr", "testthat", "knitr", "jsonlite", "devtools", "magrittr",
            "data.table"]),
        ("php-", ["pear", "pecl-apcu", "pecl-xdebug", "symfony", "phpunit-PHPUnit", "guzzlehttp-guzzle", "twig",
            "composer-semver"]),
        ("lib", ["X11", "xml2", "png", "jpeg-turbo", "tiff", "uv", "usb1", "ffi", "selinux", "gcrypt", "ssh",
            "notify", "soup3", "sodium", "yaml", "zstd", "webp", "vorbis", "ogg", "drm"]),
        ("xfce4-", ["terminal", "settings", "session", "power-manager", "screenshooter"]),
        ("gnome-", ["terminal", "calculator", "control-center", "keyring", "disk-utility", "boxes", "maps",
            "weather"]),
        ("mingw64-", ["gcc", "gtk3", "openssl", "zlib", "qt5-qtbase"]),
    ];

    private static readonly string[] Statuses = ["NEW", "ASSIGNED", "POST", "MODIFIED", "ON_QA", "VERIFIED", "CLOSED"];

    // Roughly what an open-heavy Fedora bug list looks like: most bugs sit in NEW.
    private static readonly int[] StatusWeights = [40, 20, 5, 8, 10, 2, 15];

    /// <summary>Builds the catalog. Same seed, same names, same bugs, same order: byte-identical JSON.</summary>
    public static BugCatalog Generate(int seed)
    {
        var random = new DeterministicRandom(unchecked((ulong)seed * 0x2545F4914F6CDD1DUL + 1));
        var names = CorePackages
            .Concat(PackageFamilies.SelectMany(family => family.Names.Select(name => family.Prefix + name)))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
        var core = new HashSet<string>(CorePackages, StringComparer.Ordinal);
        var usedIds = new HashSet<int>();
        var bugs = new IReadOnlyList<Bug>[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i];
            var count = BugCountFor(name, core.Contains(name), ref random);
            var list = new Bug[count];
            for (var b = 0; b < count; b++)
            {
                list[b] = new Bug(NextUniqueId(usedIds, ref random), Summaries.Next(name, ref random), NextStatus(ref random));
            }

            // Bugzilla lists bugs by id; sorting also makes the output independent of draw order.
            Array.Sort(list, (x, y) => x.Id.CompareTo(y.Id));
            bugs[i] = list;
        }

        return new BugCatalog(names, bugs);
    }

    private static int BugCountFor(string name, bool isCore, ref DeterministicRandom random)
    {
        if (name == "kernel")
        {
            return KernelBugCount;
        }

        // Squaring/cubing the uniform draw gives a long tail: many quiet packages, a few busy ones,
        // and nothing that comes close to kernel (so kernel stays the slow worst case).
        var u = random.NextDouble();
        return isCore ? 20 + (int)(580 * u * u) : 1 + (int)(40 * u * u * u);
    }

    private static int NextUniqueId(HashSet<int> used, ref DeterministicRandom random)
    {
        while (true)
        {
            // Red Hat bugzilla ids were in this range when the seed story happened.
            var id = random.Next(700_000, 2_000_000);
            if (used.Add(id))
            {
                return id;
            }
        }
    }

    private static string NextStatus(ref DeterministicRandom random)
    {
        var roll = random.Next(0, 100);
        for (var i = 0; i < Statuses.Length; i++)
        {
            roll -= StatusWeights[i];
            if (roll < 0)
            {
                return Statuses[i];
            }
        }

        return Statuses[^1];
    }
}
