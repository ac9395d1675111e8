namespace Dogpile.Engine;

/// <summary>Runs a call's creator and stores what it created: the one path a refresh ends in.</summary>
internal interface IValueCreation
{
    /// <summary>
    /// Runs the creator, stamps the created time when it finishes, and stores the value (fenced when the backend can).
    /// <c>HeldDuringOutage</c>: the backend was unavailable, so the value is held in this process instead (Degrade).
    /// </summary>
    ValueTask<(T Value, long CreatedUtcTicks, bool HeldDuringOutage)> CreateAndStoreAsync<TState, T>(
        Call<TState, T> call,
        ICacheLock? distributedLock,
        LockRelease? release,
        CancellationToken cancellationToken);
}
