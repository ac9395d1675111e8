namespace Packages.Upstream;

/// <summary>Settings of the simulated bug tracker, bound from the <c>Upstream</c> configuration section.</summary>
public sealed class UpstreamOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Upstream";

    /// <summary>Multiplies every simulated latency; 0.01 makes <c>kernel</c> answer in about 30 ms instead of 3 s.</summary>
    /// <value>1.0 (real-feeling latency). Must be finite and not negative; 0 disables the simulated latency.</value>
    public double DelayScale { get; set; } = 1.0;

    /// <summary>Seed of the generated packages and bugs; the same seed always yields the same data.</summary>
    /// <value><see langword="null"/>: the built-in seed, so every run serves the same data.</value>
    public int? Seed { get; set; }

    internal void Validate()
    {
        if (!double.IsFinite(DelayScale) || DelayScale < 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(DelayScale), DelayScale, $"{SectionName}:{nameof(DelayScale)} must be a finite number >= 0.");
        }
    }
}
