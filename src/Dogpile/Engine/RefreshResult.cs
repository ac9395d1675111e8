namespace Dogpile.Engine;

/// <summary>How one refresh ended, with the value it created (when it did).</summary>
internal readonly record struct RefreshResult<T>(RefreshOutcome Outcome, T Value, long CreatedUtcTicks);
