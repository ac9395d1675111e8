namespace Dogpile;

/// <summary>How a refresh ended.</summary>
public enum RefreshOutcome
{
    /// <summary>A new value was created and stored.</summary>
    Refreshed,

    /// <summary>A new value was created; the should-cache predicate declined to store it.</summary>
    NotCached,

    /// <summary>The key was already fresh; nothing was created.</summary>
    SkippedFresh,

    /// <summary>The creator failed; the stale value stays in service and the key backs off.</summary>
    Failed,

    /// <summary>The lock was lost to a newer owner (fence rejected the write); the newer value stands.</summary>
    Superseded,

    /// <summary>The refresh was cancelled before it finished.</summary>
    Cancelled,
}
