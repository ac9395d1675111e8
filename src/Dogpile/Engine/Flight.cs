namespace Dogpile.Engine;

/// <summary>
/// One creation in progress, shared by all its waiters. Its cancellation fires only when the last waiter
/// has left (cancelled or timed out), so one impatient caller never cancels the work others wait for.
/// </summary>
internal sealed class Flight
{
    private int _waiters;

    public TaskCompletionSource<FlightResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
            && !Completion.Task.IsCompleted
            && Interlocked.CompareExchange(ref _waiters, -1, 0) == 0)
        {
            // Never disposed: a late RemoveWaiter may still cancel it, and it owns no timer.
            Cancellation.Cancel();
        }
    }
}
