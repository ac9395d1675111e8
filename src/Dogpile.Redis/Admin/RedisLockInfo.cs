namespace Dogpile.Redis;

/// <summary>A held creation lock, found by <see cref="DogpileRedisAdmin.ListLocksAsync"/>.</summary>
/// <param name="BackendKey">The backend key it guards.</param>
/// <param name="Owner">The owner token (a refresh job carries it to its worker).</param>
/// <param name="RemainingLease">Time left on its lease; <see langword="null"/> when it has none (never set by Dogpile).</param>
/// <param name="Fence">The key's fence counter: the token of the newest lock taken on it.</param>
public sealed record RedisLockInfo(string BackendKey, string Owner, TimeSpan? RemainingLease, long? Fence);
