namespace Dogpile.Engine;

/// <summary>
/// What happened to the distributed lock during a write, so it is released exactly once, and how a refresh ended.
/// Absent (null) where neither is asked: a plain in-process miss allocates nothing for it.
/// </summary>
internal sealed class LockRelease
{
    public bool DistributedReleased { get; set; }

    public RefreshOutcome Outcome { get; set; } = RefreshOutcome.Refreshed;
}
