namespace Packages.Web.Metrics;

/// <summary>
/// The hook for queue depth on <c>/status</c> and its dashboard: a durable refresh queue (Cache:Refresh queue) registers
/// one. None is registered with in-process refresh. (Reading it once a second also keeps the <c>Dogpile.Redis</c>
/// meter's queue gauges in <c>/metrics</c> current in a web instance, which has no worker loop to read them.)
/// </summary>
public interface IRefreshQueueDepth
{
    /// <summary>The queue's name, shown on the status page.</summary>
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
