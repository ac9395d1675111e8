using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace Dogpile.Scenarios.Report;

/// <summary>What the numbers were measured on and with.</summary>
public static class MachineInfo
{
    public static string Render(string? sdkVersion, string repoRoot)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("| | |").AppendLine("| --- | --- |");
        sb.AppendLine($"| Logical CPUs (nproc) | {Environment.ProcessorCount} |");
        sb.AppendLine($"| CPU | {Read("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString()} |");
        string? mem = Read("/proc/meminfo", "MemTotal");
        sb.AppendLine($"| Memory | {(mem is null ? "unknown" : FormatKb(mem))} |");
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : RuntimeInformation.OSDescription;
        sb.AppendLine($"| OS | {OsName()}, kernel {kernel} |");
        sb.AppendLine($"| .NET SDK | {sdkVersion ?? "unknown"} |");
        sb.AppendLine($"| .NET runtime | {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier}) |");
        sb.AppendLine($"| GC | workstation, concurrent (both harnesses) |");
        sb.AppendLine($"| Stopwatch resolution (measured) | {TimerResolutionNs():0} ns: scenario latencies below it read as 0 |");
        return sb.ToString();
    }

    public static string RenderPackages(string repoRoot)
    {
        string props = Path.Combine(repoRoot, "Directory.Packages.props");
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("| Package | Version |").AppendLine("| --- | --- |");
        if (!File.Exists(props))
        {
            return sb.AppendLine("| (Directory.Packages.props not found) | |").ToString();
        }

        XDocument doc = XDocument.Load(props);
        var properties = doc.Descendants("PropertyGroup").Elements().ToDictionary(e => e.Name.LocalName, e => e.Value);
        string[] wanted = ["ZiggyCreatures.FusionCache", "ZiggyCreatures.FusionCache.Serialization.SystemTextJson", "Microsoft.Extensions.Caching.Hybrid", "Microsoft.Extensions.Caching.Memory", "BenchmarkDotNet", "HdrHistogram"];
        foreach (XElement item in doc.Descendants("PackageVersion"))
        {
            string? name = item.Attribute("Include")?.Value;
            if (name is null || !wanted.Contains(name))
            {
                continue;
            }

            string version = item.Attribute("Version")?.Value ?? "";
            foreach (var (key, value) in properties)
            {
                version = version.Replace($"$({key})", value, StringComparison.Ordinal);
            }

            sb.AppendLine($"| {name} | {version} |");
        }

        sb.AppendLine("| Dogpile | this commit (`src/Dogpile`, Release) |");
        return sb.ToString();
    }

    /// <summary>The smallest step of Stopwatch.GetTimestamp seen: on some VMs the clock ticks coarser than its frequency says.</summary>
    private static double TimerResolutionNs()
    {
        long best = long.MaxValue;
        for (int i = 0; i < 1000; i++)
        {
            long a = System.Diagnostics.Stopwatch.GetTimestamp(), b;
            while ((b = System.Diagnostics.Stopwatch.GetTimestamp()) == a)
            {
            }

            best = Math.Min(best, b - a);
        }

        return best * 1e9 / System.Diagnostics.Stopwatch.Frequency;
    }

    private static string? Read(string file, string field)
    {
        try
        {
            return File.ReadLines(file)
                .Where(l => l.StartsWith(field, StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string FormatKb(string value)
        => long.TryParse(value.Split(' ')[0], out long kb) ? $"{kb / 1024.0 / 1024.0:0.0} GiB" : value;

    private static string OsName()
    {
        try
        {
            string? pretty = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            return pretty?["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription;
        }
        catch (IOException)
        {
            return RuntimeInformation.OSDescription;
        }
    }
}
