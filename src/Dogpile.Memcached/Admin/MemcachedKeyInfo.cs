namespace Dogpile.Memcached;

/// <summary>One cache key as memcached holds it, read by <see cref="DogpileMemcachedAdmin.InspectKeyAsync"/>.</summary>
public sealed record MemcachedKeyInfo
{
    /// <summary>The backend key.</summary>
    public required string BackendKey { get; init; }

    /// <summary>The key sent to memcached (with the backend's prefix).</summary>
    public required string ServerKey { get; init; }

    /// <summary>The server that owns the key on the ring.</summary>
    public required string Server { get; init; }

    /// <summary>The key of its creation lock.</summary>
    public required string LockKey { get; init; }

    /// <summary>Whether a value is stored.</summary>
    public bool Exists { get; init; }

    /// <summary>The stored bytes (envelope and payload).</summary>
    public long SizeBytes { get; init; }

    /// <summary>When the value was created.</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>How long its creator took.</summary>
    public TimeSpan? CreationDuration { get; init; }

    /// <summary>Until when it is fresh; <see langword="null"/> when it never expires (or is absent).</summary>
    public DateTimeOffset? FreshUntil { get; init; }

    /// <summary>Until when it may be served stale (memcached drops it then); <see langword="null"/> when it has no TTL.</summary>
    public DateTimeOffset? StaleUntil { get; init; }

    /// <summary><c>fresh</c>, <c>stale</c>, <c>missing</c> or <c>unreadable</c> (not a Dogpile entry). Region and tag invalidations live in process (or in Redis) and are not seen here.</summary>
    public string State { get; init; } = "missing";

    /// <summary>The start of the payload as UTF-8 text, at most 200 characters.</summary>
    public string? PayloadPreview { get; init; }

    /// <summary>The tags the value was stored with (<see cref="CacheEntryOptions.Tags"/>); empty when none.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Whether its creation lock is held.</summary>
    public bool LockHeld { get; init; }

    /// <summary>Time left on the lock's lease, when held.</summary>
    public TimeSpan? LockRemainingLease { get; init; }
}
