namespace Packages.Web.Metrics;

/// <summary>
/// The hook for queue depth in <c>/metrics</c> and <c>/status</c>: a durable refresh queue (Cache:Refresh queue)
/// registers one, and <c>dogpile_refresh_queue_depth{queue="..."}</c> appears. None is registered with in-process refresh.
/// </summary>
public interface IRefreshQueueDepth
{
    /// <summary>The queue's name, used as the <c>queue</c> label.</summary>
    string QueueName { get; }

    /// <summary>Jobs waiting in the queue now.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The number of waiting jobs.</returns>
    ValueTask<long> GetDepthAsync(CancellationToken cancellationToken);

    /// <summary>Jobs that failed for good and were moved to the dead-letter stream.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dead-letter stream's length.</returns>
    ValueTask<long> GetDeadLettersAsync(CancellationToken cancellationToken);
}
