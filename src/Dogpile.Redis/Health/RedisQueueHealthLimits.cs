namespace Dogpile.Redis.Health;

/// <summary>The bounds past which the refresh queue's health check reports Degraded.</summary>
internal sealed record RedisQueueHealthLimits(long MaxBacklog, TimeSpan MaxOldestJobAge, long MaxDeadLetters, TimeSpan MaxWorkerSilence);
