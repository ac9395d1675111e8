namespace Dogpile;

/// <summary>A region's invalidation marks: values created at or before a mark are invalid.</summary>
/// <param name="HardUtcTicks">Values created at or before this are missing. Zero: never hard-invalidated.</param>
/// <param name="SoftUtcTicks">Values created at or before this are stale. Zero: never soft-invalidated.</param>
public readonly record struct RegionInvalidation(long HardUtcTicks, long SoftUtcTicks)
{
    /// <summary>The later of two sets of marks, mark by mark.</summary>
    /// <param name="other">The other marks.</param>
    /// <returns>The merged marks.</returns>
    public RegionInvalidation Merge(RegionInvalidation other)
        => new(Math.Max(HardUtcTicks, other.HardUtcTicks), Math.Max(SoftUtcTicks, other.SoftUtcTicks));
}
