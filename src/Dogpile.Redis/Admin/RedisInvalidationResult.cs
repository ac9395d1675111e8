namespace Dogpile.Redis;

/// <summary>A region invalidation published by <see cref="DogpileRedisAdmin.InvalidateRegionAsync"/>.</summary>
/// <param name="Region">The region.</param>
/// <param name="Mode">Hard or soft.</param>
/// <param name="Mark">Values created at or before this count as missing (hard) or stale (soft).</param>
public sealed record RedisInvalidationResult(string Region, InvalidationMode Mode, DateTimeOffset Mark);
