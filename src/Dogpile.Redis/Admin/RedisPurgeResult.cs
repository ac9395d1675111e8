namespace Dogpile.Redis;

/// <summary>What <see cref="DogpileRedisAdmin.PurgeAsync"/> did.</summary>
/// <param name="Purged">The dead-letter ids deleted.</param>
/// <param name="NotFound">The ids that named no dead letter.</param>
public sealed record RedisPurgeResult(IReadOnlyList<string> Purged, IReadOnlyList<string> NotFound);
