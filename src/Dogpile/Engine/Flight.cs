namespace Dogpile.Engine;

/// <summary>
/// One creation in progress, shared by all its waiters. It is the creation's cancellation source: it fires only when the
/// last waiter has left (cancelled or timed out), so one impatient caller never cancels the work others wait for.
/// </summary>
/// <remarks>
/// A miss is measured against the peers' allocation, and most misses have no second caller: so the flight is one
/// object (its own cancellation source, holding its result), and the task that waiters await is created only when a
/// caller has to wait for it.
/// </remarks>
internal sealed class Flight : CancellationTokenSource
{
    // _completion: null while running with nobody waiting, a TaskCompletionSource once someone waits, Finished at the end.
    private static readonly object Finished = new();

    private int _waiters;
    private FlightResult _result;
    private Exception? _failure;
    private object? _completion;

    /// <summary>What the creation produced; read only once <see cref="WhenDone"/> has completed successfully.</summary>
    public FlightResult Result => _result;

    /// <summary>Whether the creation has ended, with a result or a failure.</summary>
    public bool IsCompleted => ReferenceEquals(Volatile.Read(ref _completion), Finished);

    /// <summary>A task that completes when the creation ends, faulted with its exception when it failed.</summary>
    public Task WhenDone()
    {
        object? current = Volatile.Read(ref _completion);
        if (current is null)
        {
            var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            current = Interlocked.CompareExchange(ref _completion, waiting, null) ?? waiting;
        }

        // Written before Finished is published, so a caller that sees Finished sees the outcome.
        return current is TaskCompletionSource completion ? completion.Task
            : _failure is { } failure ? Task.FromException(failure)
            : Task.CompletedTask;
    }

    /// <summary>Hands the result to every waiter.</summary>
    public void Complete(FlightResult result)
    {
        _result = result;
        if (Interlocked.Exchange(ref _completion, Finished) is TaskCompletionSource completion)
        {
            completion.TrySetResult();
        }
    }

    /// <summary>Hands the creation's exception to every waiter.</summary>
    public void Fail(Exception failure)
    {
        _failure = failure;
        if (Interlocked.Exchange(ref _completion, Finished) is TaskCompletionSource completion)
        {
            completion.TrySetException(failure);
        }
    }

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
            && !IsCompleted
            && Interlocked.CompareExchange(ref _waiters, -1, 0) == 0)
        {
            // Never disposed: a late RemoveWaiter may still cancel it, and it owns no timer.
            Cancel();
        }
    }
}
