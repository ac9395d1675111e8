using System.Globalization;

namespace Dogpile.Soak;

/// <summary>What Linux says about one process: resident memory, threads, open descriptors, established TCP connections.</summary>
internal readonly record struct ProcStats(double RssMb, int Threads, int Fds, int Connections, int ConnectionsToPort)
{
    /// <summary>Reads /proc/&lt;pid&gt;; <paramref name="remotePort"/> also counts the connections to that port (redis's).</summary>
    public static ProcStats Read(int pid, int remotePort = 0)
    {
        double rssKb = 0;
        int threads = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rssKb = FirstNumber(line);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = (int)FirstNumber(line);
            }
        }

        // Socket descriptors look like "socket:[inode]"; the inode ties them to rows of /proc/net/tcp{,6}.
        var socketInodes = new HashSet<string>(StringComparer.Ordinal);
        int fds = 0;
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            fds++;
            string? target = TryReadLink(fd);
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                socketInodes.Add(target[8..^1]);
            }
        }

        int established = 0, toPort = 0;
        foreach (string table in (string[])[$"/proc/{pid}/net/tcp", $"/proc/{pid}/net/tcp6"])
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (string row in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                string[] f = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10 || f[3] != "01" || !socketInodes.Contains(f[9]))
                {
                    continue;
                }

                established++;
                if (remotePort != 0 && int.Parse(f[2][(f[2].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == remotePort)
                {
                    toPort++;
                }
            }
        }

        return new ProcStats(rssKb / 1024, threads, fds, established, toPort);
    }

    private static double FirstNumber(string line) =>
        double.Parse(line.Split(' ', '\t').First(p => p.Length > 0 && char.IsDigit(p[0])), CultureInfo.InvariantCulture);

    private static string? TryReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null; // closed between listing and reading
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
