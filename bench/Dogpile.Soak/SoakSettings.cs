using System.Globalization;

namespace Dogpile.Soak;

/// <summary>The showcase's configurations under soak.</summary>
internal enum SoakMode
{
    /// <summary>The embedded default: memory backend, in-process refresh, the simulator inside the app.</summary>
    Memory,

    /// <summary>Redis backend, refresh jobs on the Redis stream, a Packages.Worker process, a standalone simulator.</summary>
    Redis,
}

/// <summary>Command-line settings; every loop of the harness is bounded by them.</summary>
internal sealed record SoakSettings
{
    public IReadOnlyList<SoakMode> Modes { get; init; } = [SoakMode.Memory, SoakMode.Redis];

    /// <summary>Load time per mode, after the cache was filled.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Requests started per second (open loop; slips only when <see cref="Concurrency"/> requests are in flight).</summary>
    public int Rate { get; init; } = 200;

    /// <summary>Requests in flight at most (and connections the client opens at most).</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary><c>Cache:ExpirationSeconds</c>: every value turns stale and is rewritten this often while requested.</summary>
    public double ExpirationSeconds { get; init; } = 2;

    /// <summary><c>Upstream:DelayScale</c> of the simulator (0.02: kernel ~60 ms, a small package ~2 ms).</summary>
    public double DelayScale { get; init; } = 0.02;

    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Names the tracker does not know: their 404 answers are cached and expire like bug lists.</summary>
    public int UnknownNames { get; init; } = 20;

    /// <summary>The document whose soak section is replaced; null: print only.</summary>
    public string? Doc { get; init; }

    public string RepoRoot { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>The SDK that built the apps (the script passes <c>dotnet --version</c>).</summary>
    public string? Sdk { get; init; }

    public bool Quick { get; init; }

    public const string Usage = """
        usage: Dogpile.Soak [--quick] [--modes memory,redis] [--duration s] [--rate n] [--concurrency n]
                            [--expiration s] [--delay-scale x] [--sample-every s] [--unknown-names n]
                            [--doc docs/benchmarks.md] [--repo dir] [--sdk version]
          --quick: 45 s per mode, a sample every 3 s (defaults: 180 s, every 5 s)
        """;

    public static SoakSettings Parse(string[] args)
    {
        bool quick = args.Contains("--quick");
        var settings = new SoakSettings
        {
            Quick = quick,
            Duration = TimeSpan.FromSeconds(quick ? 45 : 180),
            SampleEvery = TimeSpan.FromSeconds(quick ? 3 : 5),
        };
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name == "--quick")
            {
                continue;
            }

            if (i + 1 >= args.Length || !name.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{name}' is not an option with a value.");
            }

            string value = args[++i];
            settings = name switch
            {
                "--modes" => settings with { Modes = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(ParseMode).ToArray() },
                "--duration" => settings with { Duration = TimeSpan.FromSeconds(Number(name, value, 5, 3600)) },
                "--rate" => settings with { Rate = (int)Number(name, value, 1, 5000) },
                "--concurrency" => settings with { Concurrency = (int)Number(name, value, 1, 1024) },
                "--expiration" => settings with { ExpirationSeconds = Number(name, value, 0.1, 3600) },
                "--delay-scale" => settings with { DelayScale = Number(name, value, 0, 10) },
                "--sample-every" => settings with { SampleEvery = TimeSpan.FromSeconds(Number(name, value, 0.5, 600)) },
                "--unknown-names" => settings with { UnknownNames = (int)Number(name, value, 0, 10_000) },
                "--doc" => settings with { Doc = value },
                "--repo" => settings with { RepoRoot = value },
                "--sdk" => settings with { Sdk = value },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }

        if (settings.Modes.Count == 0)
        {
            throw new ArgumentException("--modes names no mode.");
        }

        // Thirds of the run are compared: fewer than two samples per third says nothing.
        if (settings.Duration / settings.SampleEvery < 6)
        {
            throw new ArgumentException("--duration must be at least 6 × --sample-every, so that each third of the run has two samples.");
        }

        return settings;
    }

    private static SoakMode ParseMode(string text) => text switch
    {
        "memory" => SoakMode.Memory,
        "redis" => SoakMode.Redis,
        _ => throw new ArgumentException($"--modes takes memory and/or redis, not '{text}'."),
    };

    private static double Number(string name, string text, double min, double max) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
            ? v
            : throw new ArgumentException($"{name} must be a number from {min} to {max}; got '{text}'.");
}
