namespace Dogpile.Redis;

/// <summary>One consumer (worker) of the refresh queue's group.</summary>
/// <param name="Name">The consumer name (<see cref="RedisRefreshWorkerOptions.ConsumerName"/>).</param>
/// <param name="Pending">Jobs delivered to it and not acknowledged.</param>
/// <param name="Idle">Time since it last read or acknowledged: a dead worker's grows without bound.</param>
public sealed record RedisConsumerStatus(string Name, long Pending, TimeSpan Idle);
