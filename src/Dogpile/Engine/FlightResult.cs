namespace Dogpile.Engine;

/// <summary>What one creation produced, handed to every caller that waited for it.</summary>
internal readonly struct FlightResult(object? value, long createdUtcTicks, EntryLifetime lifetime, bool stale, bool degraded = false)
{
    /// <summary>Whether the creation went on without the shared backend or its lock (they were unavailable).</summary>
    public bool Degraded { get; } = degraded;

    public object? Value { get; } = value;

    public long CreatedUtcTicks { get; } = createdUtcTicks;

    public EntryLifetime Lifetime { get; } = lifetime;

    public bool Stale { get; } = stale;
}
