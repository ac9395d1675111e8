namespace Packages.Upstream;

/// <summary>What the simulated tracker does wrong, set at runtime through <c>POST /faults</c>.</summary>
internal enum FaultMode
{
    /// <summary>Behave.</summary>
    None,

    /// <summary>Answer <c>/bugs</c> with 500 straight away, like a tracker that is down.</summary>
    Fail,

    /// <summary>Add <see cref="FaultSettings.DelayMs"/> on top of the normal latency.</summary>
    Slow,

    /// <summary>Answer 200 with a truncated, unparseable JSON body.</summary>
    Garbage,
}

/// <summary>The current fault; immutable so a request reads the mode and delay as one consistent pair.</summary>
internal sealed record FaultSettings(FaultMode Mode, int DelayMs)
{
    public static readonly FaultSettings None = new(FaultMode.None, 0);

    /// <summary>Longest extra delay accepted, so a typo cannot park requests for hours.</summary>
    public const int MaxDelayMs = 600_000;

    public static bool TryParseMode(string? text, out FaultMode mode)
    {
        mode = text?.ToUpperInvariant() switch
        {
            "NONE" => FaultMode.None,
            "FAIL" => FaultMode.Fail,
            "SLOW" => FaultMode.Slow,
            "GARBAGE" => FaultMode.Garbage,
            _ => (FaultMode)(-1),
        };
        return Enum.IsDefined(mode);
    }

    public static string Name(FaultMode mode) => mode.ToString().ToLowerInvariant();
}

/// <summary>Holds the fault every <c>/bugs</c> request consults; swapped atomically by <c>POST /faults</c>.</summary>
internal sealed class FaultInjector
{
    private FaultSettings _current = FaultSettings.None;

    public FaultSettings Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }
}
