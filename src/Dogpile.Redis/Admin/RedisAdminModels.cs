namespace Dogpile.Redis;

/// <summary>The refresh queue as Redis holds it now, read by <see cref="DogpileRedisAdmin.GetQueueStatusAsync"/>.</summary>
public sealed record RedisQueueStatus
{
    /// <summary>Whether the job stream exists (it is created by the first enqueue or the first worker).</summary>
    public bool StreamExists { get; init; }

    /// <summary>Whether the workers' consumer group exists (a worker creates it when it starts).</summary>
    public bool GroupExists { get; init; }

    /// <summary>Jobs not yet completed: waiting and running (<c>XLEN</c>; completed and dead-lettered jobs are deleted).</summary>
    public long Length { get; init; }

    /// <summary>Jobs delivered to a worker and not yet acknowledged: running, or failed and waiting for a retry (<c>XPENDING</c>).</summary>
    public long Pending { get; init; }

    /// <summary>Jobs no worker has read yet: the backlog (<see cref="Length"/> less <see cref="Pending"/>).</summary>
    public long Backlog => Math.Max(0, Length - Pending);

    /// <summary>Jobs whose runs failed at least once and that are not completed or dead-lettered yet.</summary>
    public long Retrying { get; init; }

    /// <summary>Jobs in the dead-letter stream.</summary>
    public long DeadLetters { get; init; }

    /// <summary>The age of the oldest job not completed (the queue's lag); <see langword="null"/> when the queue is empty.</summary>
    public TimeSpan? OldestJobAge { get; init; }

    /// <summary>The age of the oldest job delivered and not acknowledged; <see langword="null"/> when none is pending.</summary>
    public TimeSpan? OldestPendingAge { get; init; }

    /// <summary>Jobs ever added to the stream (<c>XINFO STREAM</c> entries-added): its change over time is the enqueue rate.</summary>
    public long EntriesAdded { get; init; }

    /// <summary>Jobs the group ever read (<c>XINFO GROUPS</c> entries-read): its change over time is the delivery rate.</summary>
    public long EntriesRead { get; init; }

    /// <summary>The group's consumers (one per worker process that ever read), with their pending jobs and idle time.</summary>
    public IReadOnlyList<RedisConsumerStatus> Consumers { get; init; } = [];
}

/// <summary>One consumer (worker) of the refresh queue's group.</summary>
/// <param name="Name">The consumer name (<see cref="RedisRefreshWorkerOptions.ConsumerName"/>).</param>
/// <param name="Pending">Jobs delivered to it and not acknowledged.</param>
/// <param name="Idle">Time since it last read or acknowledged: a dead worker's grows without bound.</param>
public sealed record RedisConsumerStatus(string Name, long Pending, TimeSpan Idle);

/// <summary>A job in the dead-letter stream: why it died, and the job's own fields (what a replay re-enqueues).</summary>
public sealed record RedisDeadLetter
{
    /// <summary>The dead-letter entry's stream id (what <c>show</c>, <c>replay</c> and <c>purge</c> take).</summary>
    public required string Id { get; init; }

    /// <summary>Why the worker gave up on it.</summary>
    public string Reason { get; init; } = "";

    /// <summary>The job id (<c>job</c> field).</summary>
    public string JobId { get; init; } = "";

    /// <summary>The region the job refreshes.</summary>
    public string Region { get; init; } = "";

    /// <summary>The registered function the job calls.</summary>
    public string Function { get; init; } = "";

    /// <summary>The caller's key.</summary>
    public string Key { get; init; } = "";

    /// <summary>The backend key (region prefix and key).</summary>
    public string BackendKey { get; init; } = "";

    /// <summary>The consumer that dead-lettered it.</summary>
    public string Consumer { get; init; } = "";

    /// <summary>The job's entry id in the job stream when it died.</summary>
    public string EntryId { get; init; } = "";

    /// <summary>When it was enqueued, if recorded.</summary>
    public DateTimeOffset? EnqueuedAt { get; init; }

    /// <summary>When it was dead-lettered, if recorded.</summary>
    public DateTimeOffset? DeadLetteredAt { get; init; }

    /// <summary>Every field of the entry, as stored (the serialized arguments included, base64).</summary>
    public IReadOnlyDictionary<string, string> Fields { get; init; } = new Dictionary<string, string>();
}

/// <summary>One dead letter put back on the job stream by <see cref="DogpileRedisAdmin.ReplayAsync"/>.</summary>
/// <param name="DeadLetterId">The dead-letter entry it came from (now deleted).</param>
/// <param name="EntryId">Its new entry id in the job stream.</param>
/// <param name="JobId">Its new job id (its attempts start again from zero).</param>
/// <param name="Region">The region.</param>
/// <param name="Function">The function.</param>
/// <param name="Key">The caller's key.</param>
public sealed record RedisReplayedJob(string DeadLetterId, string EntryId, string JobId, string Region, string Function, string Key);

/// <summary>What <see cref="DogpileRedisAdmin.ReplayAsync"/> did.</summary>
/// <param name="Replayed">The dead letters re-enqueued, each with its new job.</param>
/// <param name="NotFound">The ids that named no dead letter (nothing done for them).</param>
public sealed record RedisReplayResult(IReadOnlyList<RedisReplayedJob> Replayed, IReadOnlyList<string> NotFound);

/// <summary>What <see cref="DogpileRedisAdmin.PurgeAsync"/> did.</summary>
/// <param name="Purged">The dead-letter ids deleted.</param>
/// <param name="NotFound">The ids that named no dead letter.</param>
public sealed record RedisPurgeResult(IReadOnlyList<string> Purged, IReadOnlyList<string> NotFound);

/// <summary>A held creation lock, found by <see cref="DogpileRedisAdmin.ListLocksAsync"/>.</summary>
/// <param name="BackendKey">The backend key it guards.</param>
/// <param name="Owner">The owner token (a refresh job carries it to its worker).</param>
/// <param name="RemainingLease">Time left on its lease; <see langword="null"/> when it has none (never set by Dogpile).</param>
/// <param name="Fence">The key's fence counter: the token of the newest lock taken on it.</param>
public sealed record RedisLockInfo(string BackendKey, string Owner, TimeSpan? RemainingLease, long? Fence);

/// <summary>The refresh job pending for a key (its "job pending" marker and, when found, its stream entry).</summary>
/// <param name="JobId">The job id the marker holds.</param>
/// <param name="MarkerTtl">Time left on the marker (<see cref="DogpileRedisOptions.DeduplicationWindow"/> at most).</param>
/// <param name="EntryId">The job's entry in the stream; <see langword="null"/> when not found among the oldest entries read.</param>
/// <param name="Consumer">The worker it is delivered to; <see langword="null"/> when not delivered yet.</param>
/// <param name="Deliveries">How often it was delivered (each failed run adds one).</param>
public sealed record RedisPendingJobInfo(string JobId, TimeSpan? MarkerTtl, string? EntryId, string? Consumer, long Deliveries);

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

    /// <summary><c>fresh</c>, <c>stale</c>, <c>invalidated</c> (by a hard region invalidation), <c>missing</c> or <c>unreadable</c> (not a Dogpile entry).</summary>
    public string State { get; init; } = "missing";

    /// <summary>The start of the payload as UTF-8 text (the default serializer writes JSON), at most 200 characters.</summary>
    public string? PayloadPreview { get; init; }

    /// <summary>The creation lock, when held.</summary>
    public RedisLockInfo? Lock { get; init; }

    /// <summary>The refresh job pending for the key, if any.</summary>
    public RedisPendingJobInfo? PendingJob { get; init; }

    /// <summary>The region's last hard invalidation, if any.</summary>
    public DateTimeOffset? HardInvalidatedAt { get; init; }

    /// <summary>The region's last soft invalidation, if any.</summary>
    public DateTimeOffset? SoftInvalidatedAt { get; init; }
}

/// <summary>A region invalidation published by <see cref="DogpileRedisAdmin.InvalidateRegionAsync"/>.</summary>
/// <param name="Region">The region.</param>
/// <param name="Mode">Hard or soft.</param>
/// <param name="Mark">Values created at or before this count as missing (hard) or stale (soft).</param>
public sealed record RedisInvalidationResult(string Region, InvalidationMode Mode, DateTimeOffset Mark);
