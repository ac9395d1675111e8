namespace Dogpile.Redis;

/// <summary>The refresh job pending for a key (its "job pending" marker and, when found, its stream entry).</summary>
/// <param name="JobId">The job id the marker holds.</param>
/// <param name="MarkerTtl">Time left on the marker (<see cref="DogpileRedisOptions.DeduplicationWindow"/> at most).</param>
/// <param name="EntryId">The job's entry in the stream; <see langword="null"/> when not found among the oldest entries read.</param>
/// <param name="Consumer">The worker it is delivered to; <see langword="null"/> when not delivered yet.</param>
/// <param name="Deliveries">How often it was delivered (each failed run adds one).</param>
public sealed record RedisPendingJobInfo(string JobId, TimeSpan? MarkerTtl, string? EntryId, string? Consumer, long Deliveries);
