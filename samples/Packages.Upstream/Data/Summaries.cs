using System.Globalization;

namespace Packages.Upstream.Data;

/// <summary>Bug summaries in the shapes Fedora's bugzilla really shows: FTBFS, CVE trackers, abrt crashes, update requests.</summary>
internal static class Summaries
{
    private static readonly string[] Symptoms =
    [
        "hangs on startup", "high CPU usage when idle", "memory leak after long uptime", "segfault on exit",
        "fails to start after upgrade", "wrong permissions on config file", "crashes when opening a large file",
        "ignores locale settings", "prints a deprecation warning on every run", "breaks with SELinux enforcing",
        "does not honour proxy settings", "leaks file descriptors", "debuginfo package is empty",
    ];

    private static readonly string[] Vulnerabilities =
    [
        "buffer overflow in parser", "use-after-free in connection handling", "denial of service via crafted input",
        "integer overflow leading to heap corruption", "information disclosure via error messages",
        "path traversal in archive extraction", "NULL pointer dereference",
    ];

    private static readonly string[] Functions =
    [
        "main", "g_main_context_dispatch", "malloc_consolidate", "__strlen_avx2", "g_closure_invoke", "raise",
        "abort", "__libc_start_call_main", "PyEval_EvalFrameDefault", "dl_open_worker",
    ];

    private static readonly string[] KernelSubsystems =
    [
        "gpu/drm/i915", "gpu/drm/amd/amdgpu", "gpu/drm/nouveau", "net/wireless/iwlwifi", "net/ethernet/realtek",
        "usb/host/xhci", "bluetooth/btusb", "acpi", "nvme/host", "md", "input/touchpad", "sound/hda",
    ];

    private static readonly string[] KernelSymptoms =
    [
        "suspend/resume fails", "black screen after boot", "wifi drops every few minutes", "touchpad stops responding",
        "external monitor not detected", "kernel panic on shutdown", "USB devices disconnect randomly",
        "no sound after resume", "fan runs at full speed", "hibernate corrupts the filesystem",
    ];

    private static readonly string[] Laptops =
    [
        "Lenovo ThinkPad T430", "Lenovo ThinkPad X220", "Dell XPS 13", "Dell Latitude E6420", "HP EliteBook 8460p",
        "MacBook Pro 9,2", "Asus Zenbook UX31A", "Samsung Series 9", "Acer Aspire One",
    ];

    private static readonly string[] SharedLibraries = ["libicu", "libffi", "boost", "openssl", "libgit2", "poppler", "protobuf"];

    public static string Next(string package, ref DeterministicRandom random) =>
        package == "kernel" ? NextKernel(ref random) : NextGeneric(package, ref random);

    private static string NextGeneric(string package, ref DeterministicRandom random)
    {
        var binary = BinaryName(package);
        return random.Next(0, 9) switch
        {
            0 => Invariant($"{package}: FTBFS in Fedora {Release(ref random)}"),
            1 => Invariant($"{package}-{Version(ref random)} is available"),
            2 => Invariant($"CVE-{random.Next(2010, 2014)}-{random.Next(1000, 9999)} {package}: {random.Pick(Vulnerabilities)} [fedora-all]"),
            3 => Invariant($"[abrt] {package}: {random.Pick(Functions)}(): {binary} killed by SIGSEGV"),
            4 => Invariant($"{package}: {random.Pick(Symptoms)}"),
            5 => Invariant($"{package} {Version(ref random)}: {random.Pick(Symptoms)}"),
            6 => Invariant($"F{random.Next(17, 20)}FailsToInstall: {package}"),
            7 => Invariant($"{package}: missing man page for {binary}"),
            _ => Invariant($"Please rebuild {package} against the new soname of {random.Pick(SharedLibraries)}"),
        };
    }

    private static string NextKernel(ref DeterministicRandom random)
    {
        var version = Invariant($"3.{random.Next(6, 9)}.{random.Next(0, 12)}-{random.Next(100, 300)}.fc{random.Next(17, 19)}");
        return random.Next(0, 5) switch
        {
            0 => Invariant($"[abrt] kernel: WARNING: at drivers/{random.Pick(KernelSubsystems)}/core.c:{random.Next(80, 4000)} {random.Pick(Functions)}+0x{random.Next(16, 512):x}/0x{random.Next(512, 2048):x}()"),
            1 => Invariant($"BUG: soft lockup - CPU#{random.Next(0, 8)} stuck for {random.Next(22, 90)}s! [kworker/{random.Next(0, 8)}:{random.Next(0, 4)}]"),
            2 => Invariant($"kernel {version}: {random.Pick(KernelSymptoms)} on {random.Pick(Laptops)}"),
            3 => Invariant($"{random.Pick(KernelSubsystems)}: {random.Pick(KernelSymptoms)} with kernel {version}"),
            _ => Invariant($"CVE-{random.Next(2012, 2014)}-{random.Next(1000, 9999)} kernel: {random.Pick(Vulnerabilities)} in {random.Pick(KernelSubsystems)}"),
        };
    }

    private static string Release(ref DeterministicRandom random) =>
        random.Next(0, 4) == 0 ? "rawhide" : Invariant($"{random.Next(17, 20)}");

    private static string Version(ref DeterministicRandom random) =>
        Invariant($"{random.Next(0, 5)}.{random.Next(0, 20)}.{random.Next(0, 10)}");

    // The command a crash report names: python3-requests crashes as "requests", perl-XML-Parser as "XML-Parser".
    private static string BinaryName(string package)
    {
        var dash = package.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && dash < package.Length - 1 && package[..dash] is "python3" or "perl" or "rubygem" or "nodejs" or "ghc" or "rust" or "php" or "R"
            ? package[(dash + 1)..]
            : package;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
