namespace Dogpile.Engine;

/// <summary>
/// One creation in progress, shared by all its waiters. Its cancellation fires only when the last waiter
/// has left (cancelled or timed out), so one impatient caller never cancels the work others wait for.
/// </summary>
/// <remarks>
/// The flight is its own completion source and holds its result, so a miss allocates one object for both (a miss is
/// measured against the peers' allocation).
/// </remarks>
internal sealed class Flight() : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
{
    private int _waiters;
    private FlightResult _result;

    /// <summary>What the creation produced; read only once <see cref="TaskCompletionSource.Task"/> has completed successfully.</summary>
    public FlightResult Result => _result;

    /// <summary>Hands the result to every waiter.</summary>
    public void Complete(FlightResult result)
    {
        // Written before the task completes: a waiter reads it only after awaiting the task.
        _result = result;
        TrySetResult();
    }

    public CancellationTokenSource Cancellation { get; } = new();

    public bool TryAddWaiter()
    {
        int current = Volatile.Read(ref _waiters);
        while (current >= 0)
        {
            int seen = Interlocked.CompareExchange(ref _waiters, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public void RemoveWaiter()
    {
        if (Interlocked.Decrement(ref _waiters) == 0
            && !Task.IsCompleted
            && Interlocked.CompareExchange(ref _waiters, -1, 0) == 0)
        {
            // Never disposed: a late RemoveWaiter may still cancel it, and it owns no timer.
            Cancellation.Cancel();
        }
    }
}
