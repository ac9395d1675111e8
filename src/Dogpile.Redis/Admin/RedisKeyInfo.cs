namespace Dogpile.Redis;

/// <summary>One cache key as Redis holds it, read by <see cref="DogpileRedisAdmin.InspectKeyAsync"/>.</summary>
public sealed record RedisKeyInfo
{
    /// <summary>The region's name.</summary>
    public required string Region { get; init; }

    /// <summary>The backend key (the region's key prefix and the key).</summary>
    public required string BackendKey { get; init; }

    /// <summary>The Redis key of the value.</summary>
    public required string RedisKey { get; init; }

    /// <summary>Whether a value is stored.</summary>
    public bool Exists { get; init; }

    /// <summary>The stored bytes (envelope and payload).</summary>
    public long SizeBytes { get; init; }

    /// <summary>When the value was created; <see langword="null"/> when absent or not a Dogpile entry.</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>How long its creator took.</summary>
    public TimeSpan? CreationDuration { get; init; }

    /// <summary>Until when it is fresh; <see langword="null"/> when it never expires (or is absent).</summary>
    public DateTimeOffset? FreshUntil { get; init; }

    /// <summary>Until when it may be served stale (Redis deletes it then); <see langword="null"/> when it has no TTL.</summary>
    public DateTimeOffset? StaleUntil { get; init; }

    /// <summary>
    /// <c>fresh</c>, <c>stale</c> (past <see cref="FreshUntil"/>, or by a soft invalidation of its region or of one of
    /// its tags), <c>invalidated</c> (by a hard invalidation of its region or of one of its tags), <c>missing</c> or
    /// <c>unreadable</c> (not a Dogpile entry).
    /// </summary>
    public string State { get; init; } = "missing";

    /// <summary>The start of the payload as UTF-8 text (the default serializer writes JSON), at most 200 characters.</summary>
    public string? PayloadPreview { get; init; }

    /// <summary>The tags the value was stored with (<see cref="CacheEntryOptions.Tags"/>); empty when none.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The creation lock, when held.</summary>
    public RedisLockInfo? Lock { get; init; }

    /// <summary>The refresh job pending for the key, if any.</summary>
    public RedisPendingJobInfo? PendingJob { get; init; }

    /// <summary>The region's last hard invalidation, if any.</summary>
    public DateTimeOffset? HardInvalidatedAt { get; init; }

    /// <summary>The region's last soft invalidation, if any.</summary>
    public DateTimeOffset? SoftInvalidatedAt { get; init; }
}
