namespace Dogpile;

/// <summary>
/// A refresh job for a registered cached function, read and checked but not yet run: its arguments are decoded and
/// its key is derived and within the backend's limit. Get one with <see cref="CacheRegion.TryPrepareRegisteredRefresh"/>,
/// compare <see cref="BackendKey"/> with the key the job claims, take that key's lock, then <see cref="RunAsync"/>.
/// </summary>
public sealed class RegisteredRefresh
{
    private readonly Func<ICacheLock?, CancellationToken, ValueTask<RefreshOutcome>> _run;

    internal RegisteredRefresh(string functionName, string key, string backendKey, Func<ICacheLock?, CancellationToken, ValueTask<RefreshOutcome>> run)
    {
        FunctionName = functionName;
        Key = key;
        BackendKey = backendKey;
        _run = run;
    }

    /// <summary>The registered function's name.</summary>
    public string FunctionName { get; }

    /// <summary>The cache key the arguments give (<see cref="CachedFunction{TArg, T}.KeyFor"/>).</summary>
    public string Key { get; }

    /// <summary>The key as the backend and the lock provider see it (prefixed, mangled, within the length limit).</summary>
    public string BackendKey { get; }

    /// <summary>
    /// Runs the refresh as <see cref="CacheRegion.RunRegisteredRefreshAsync"/> does: skips it if the key is fresh,
    /// otherwise runs the function and stores the value (fenced by <paramref name="heldLock"/> when the backend can),
    /// and releases <paramref name="heldLock"/> exactly once, whatever happens.
    /// </summary>
    /// <param name="heldLock">The lock on <see cref="BackendKey"/> the job carries, if any.</param>
    /// <param name="cancellationToken">Cancels the refresh (and the function).</param>
    /// <returns>How the refresh ended.</returns>
    /// <exception cref="ArgumentException"><paramref name="heldLock"/> guards another key (it is released first).</exception>
    /// <remarks>A failing function throws here (after the lock is released), so the caller can retry or dead-letter the job.</remarks>
    public ValueTask<RefreshOutcome> RunAsync(ICacheLock? heldLock, CancellationToken cancellationToken = default)
        => _run(heldLock, cancellationToken);
}
