namespace Dogpile.Redis;

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
