namespace Dogpile.Redis;

/// <summary>One dead letter put back on the job stream by <see cref="DogpileRedisAdmin.ReplayAsync"/>.</summary>
/// <param name="DeadLetterId">The dead-letter entry it came from (now deleted).</param>
/// <param name="EntryId">Its new entry id in the job stream.</param>
/// <param name="JobId">Its new job id (its attempts start again from zero).</param>
/// <param name="Region">The region.</param>
/// <param name="Function">The function.</param>
/// <param name="Key">The caller's key.</param>
public sealed record RedisReplayedJob(string DeadLetterId, string EntryId, string JobId, string Region, string Function, string Key);
