namespace Dogpile.Redis;

/// <summary>What <see cref="DogpileRedisAdmin.ReplayAsync"/> did.</summary>
/// <param name="Replayed">The dead letters re-enqueued, each with its new job.</param>
/// <param name="NotFound">The ids that named no dead letter (nothing done for them).</param>
public sealed record RedisReplayResult(IReadOnlyList<RedisReplayedJob> Replayed, IReadOnlyList<string> NotFound);
