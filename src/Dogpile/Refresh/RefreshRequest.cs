using System.Diagnostics;
using Dogpile.Internal;

namespace Dogpile;

/// <summary>
/// One refresh of one key, handed from the region to an <see cref="IRefreshRunner"/> with its creation lock
/// held. Whoever owns the request sees to it that the lock is released exactly once: by running it
/// (<see cref="RunAsync"/> releases when done, whatever happens), by dropping it (<see cref="ReleaseAsync"/>),
/// or, for a durable queue, by <see cref="HandOff"/> plus the worker's release of the distributed lock.
/// </summary>
public sealed class RefreshRequest
{
    private readonly Func<RefreshRequest, CancellationToken, ValueTask<RefreshOutcome>> _run;
    private readonly KeyedGates.GateLease _gate;
    private readonly IRegisteredFunction? _function;
    private readonly object? _arguments;
    private int _state; // 0 pending, 1 running/handed off, 2 released

    internal RefreshRequest(
        string regionName,
        string key,
        string backendKey,
        RefreshReason reason,
        DateTimeOffset requestedAt,
        KeyedGates.GateLease gate,
        ICacheLock? distributedLock,
        IRegisteredFunction? function,
        object? arguments,
        Func<RefreshRequest, CancellationToken, ValueTask<RefreshOutcome>> run)
    {
        RegionName = regionName;
        Key = key;
        BackendKey = backendKey;
        Reason = reason;
        RequestedAt = requestedAt;
        _gate = gate;
        DistributedLock = distributedLock;
        _function = function;
        _arguments = arguments;
        _run = run;
        TraceContext = Activity.Current?.Context ?? default;
    }

    /// <summary>
    /// The trace context of the call that requested the refresh (<see cref="Activity.Current"/> then), so the refresh's
    /// span continues that trace: the in-process runner uses it, and a durable runner carries it with its job.
    /// </summary>
    /// <value><see langword="default"/> when that call was not traced.</value>
    public ActivityContext TraceContext { get; }

    /// <summary>The region's name.</summary>
    public string RegionName { get; }

    /// <summary>The cache key as the caller gave it.</summary>
    public string Key { get; }

    /// <summary>The key at the backend (prefixed and mangled).</summary>
    public string BackendKey { get; }

    /// <summary>Why the refresh was started.</summary>
    public RefreshReason Reason { get; }

    /// <summary>When the refresh was requested.</summary>
    public DateTimeOffset RequestedAt { get; }

    /// <summary>The cross-process lock held for this refresh, when the region has a lock provider.</summary>
    public ICacheLock? DistributedLock { get; }

    /// <summary>
    /// The name of the registered cached function that produces this key, or <see langword="null"/> when the
    /// value came from an ad-hoc creator (a closure, which cannot leave this process).
    /// </summary>
    public string? FunctionName => _function?.Name;

    /// <summary>Serializes the cached function's arguments with the region's serializer, for a durable job.</summary>
    /// <returns>The arguments as bytes.</returns>
    /// <exception cref="InvalidOperationException">The request has no registered function.</exception>
    public ReadOnlyMemory<byte> SerializeArguments()
        => _function is null
            ? throw new InvalidOperationException($"The refresh of '{Key}' comes from an ad-hoc creator, not a registered cached function; it can only run in this process.")
            : _function.SerializeArguments(_arguments);

    /// <summary>Runs the refresh in this process: creates, stores, and releases the lock(s) exactly once.</summary>
    /// <param name="cancellationToken">Cancels the refresh (the runner's shutdown).</param>
    /// <returns>How it ended; creator failures are logged and counted, not thrown.</returns>
    /// <exception cref="InvalidOperationException">The request was already run, released or handed off.</exception>
    public ValueTask<RefreshOutcome> RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException($"The refresh of '{Key}' was already run, released or handed off.");
        }

        return _run(this, cancellationToken);
    }

    /// <summary>Drops the refresh without running it and releases its locks. Idempotent.</summary>
    /// <returns>A task that completes when the locks are released.</returns>
    public async ValueTask ReleaseAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        _gate.Release();
        if (DistributedLock is not null)
        {
            await DistributedLock.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// For durable runners: the job (with <see cref="DistributedLock"/>'s token) now lives outside this process.
    /// Releases only the in-process gate; the distributed lock stays held until the worker releases it or its lease ends.
    /// </summary>
    /// <exception cref="InvalidOperationException">The request was already run, released or handed off.</exception>
    public void HandOff()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException($"The refresh of '{Key}' was already run, released or handed off.");
        }

        _gate.Release();
    }

    /// <summary>Releases the locks once the run is over (called by the region's run delegate).</summary>
    internal async ValueTask ReleaseAfterRunAsync(bool distributedAlreadyReleased)
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        _gate.Release();
        if (DistributedLock is not null && !distributedAlreadyReleased)
        {
            await DistributedLock.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
