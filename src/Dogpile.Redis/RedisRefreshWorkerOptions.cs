using Dogpile.Internal;

namespace Dogpile.Redis;

/// <summary>
/// Settings of a refresh-queue worker (<c>AddRedisRefreshWorker(o => ...)</c> or
/// <see cref="DogpileRedis.CreateWorker"/>).
/// </summary>
public sealed class RedisRefreshWorkerOptions : ICheckedOptions
{
    /// <summary>
    /// This worker's consumer name in the group; unique per worker. It names the worker in dead letters, in the
    /// queue status (<see cref="DogpileRedisAdmin.GetQueueStatusAsync"/>) and on its job spans. With
    /// <c>AddRedisRefreshWorker</c> the name chosen by default is set here, so <c>IOptions&lt;RedisRefreshWorkerOptions&gt;</c>
    /// reads it.
    /// </summary>
    /// <value>Default: <c>{machine}-{process id}-{random}</c>, a new one per worker.</value>
    public string? ConsumerName { get; set; }

    /// <summary>The most jobs this worker runs at once.</summary>
    /// <value>Default: 4.</value>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>How long a job must sit unacknowledged with another consumer (dead, or failed) before this worker takes it over.</summary>
    /// <value>Default: 30 seconds.</value>
    public TimeSpan MinIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many failed runs of a job are allowed; the last one moves it to the dead-letter stream.</summary>
    /// <value>Default: 5.</value>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How often the worker polls the queue when no "job added" message woke it.</summary>
    /// <value>Default: 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>On shutdown, how long jobs already running may take to finish; the rest stay pending for another worker.</summary>
    /// <value>Default: 10 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long one run of a job may take, from taking its lock to acknowledging it. A run past it is cancelled (one
    /// whose function ignores cancellation is abandoned), its lock is released, and it counts as a failed attempt:
    /// retried, and dead-lettered after <see cref="MaxAttempts"/>.
    /// </summary>
    /// <value>Default: 2 minutes.</value>
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The largest serialized arguments a job may carry; a job with larger ones is dead-lettered without being decoded.</summary>
    /// <value>Default: 1 MiB.</value>
    public int MaxArgumentsSize { get; set; } = 1024 * 1024;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(RedisRefreshWorkerOptions));
        check.AtLeast(MaxConcurrency, 1, nameof(MaxConcurrency));
        check.AtLeast(MaxAttempts, 1, nameof(MaxAttempts));
        check.Positive(MinIdleTime, nameof(MinIdleTime));
        check.Positive(PollInterval, nameof(PollInterval));
        check.NotNegative(ShutdownTimeout, nameof(ShutdownTimeout));
        check.Require(
            JobTimeout > TimeSpan.Zero && JobTimeout.TotalMilliseconds <= uint.MaxValue - 1,
            nameof(JobTimeout),
            $"must be positive and at most {TimeSpan.FromMilliseconds(uint.MaxValue - 1)}, not {JobTimeout}");
        check.AtLeast(MaxArgumentsSize, 1, nameof(MaxArgumentsSize));
        return check;
    }
}
