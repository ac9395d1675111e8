namespace Dogpile.Redis.Internal;

/// <summary>
/// The Redis key layout. A cache key's value, lock and fence share the hash tag <c>{backendKey}</c>, so they live in
/// one cluster slot and one script can touch all three; the queue's keys share the tag <c>{q:queue}</c>.
/// </summary>
internal sealed class RedisKeys(string prefix, string queue)
{
    public string Prefix { get; } = prefix;

    public string Value(string backendKey) => string.Concat(Prefix, ":{", backendKey, "}:v");

    public string Lock(string backendKey) => string.Concat(Prefix, ":{", backendKey, "}:lock");

    public string Fence(string backendKey) => string.Concat(Prefix, ":{", backendKey, "}:fence");

    public string LockReleasedChannel => Prefix + ":lock-released";

    public string Invalidation(string regionName) => string.Concat(Prefix, ":inv:", regionName);

    public string InvalidatedChannel => Prefix + ":invalidated";

    /// <summary>A region's tag marks: one hash, fields <c>h:{tag}</c> and <c>s:{tag}</c>.</summary>
    public string TagInvalidation(string regionName) => string.Concat(Prefix, ":invtags:", regionName);

    public string TagInvalidatedChannel => Prefix + ":tag-invalidated";

    public string JobStream => string.Concat(Prefix, ":{q:", queue, "}:jobs");

    public string DeadLetterStream => string.Concat(Prefix, ":{q:", queue, "}:dead");

    /// <summary>When a worker last read the queue (unix milliseconds), for the queue's health check.</summary>
    public string WorkerHeartbeat => string.Concat(Prefix, ":{q:", queue, "}:read");

    public string Failures => string.Concat(Prefix, ":{q:", queue, "}:failures");

    public string PendingMarker(string backendKey) => string.Concat(Prefix, ":{q:", queue, "}:pending:", backendKey);

    public string JobAddedChannel => string.Concat(Prefix, ":", queue, ":job-added");
}
