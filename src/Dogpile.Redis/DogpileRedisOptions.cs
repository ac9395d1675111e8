using Dogpile.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

/// <summary>
/// Settings of <see cref="DogpileRedis"/>: how to reach Redis, how keys are laid out, how long calls may take, and the
/// lock and queue parameters. Give exactly one of <see cref="ConnectionString"/>, <see cref="Configuration"/> or
/// <see cref="Multiplexer"/>.
/// </summary>
/// <remarks>
/// <para><b>When Redis is unavailable or slow</b>, every call is bounded: the multiplexer is configured with
/// <c>AbortOnConnectFail=false</c> (it keeps reconnecting in the background), fail-fast backlog, and sync/async timeouts
/// of <see cref="OperationTimeout"/> (the multiplexer checks them on its 1 s heartbeat, so a hung call ends within about
/// <see cref="OperationTimeout"/> + 1 s). The first connect may take the multiplexer's <c>ConnectTimeout</c> (5 s unless
/// the configuration says otherwise, never less than <see cref="OperationTimeout"/>); calls made meanwhile wait for it
/// within that bound. A multiplexer you supply keeps its own settings: when its <c>AsyncTimeout</c> is
/// at most <see cref="OperationTimeout"/> it bounds calls the same way; otherwise, and for every cancellable call, each
/// call is also cut off after <see cref="OperationTimeout"/> by a timer of its own (a timer-queue registration per
/// call: give a shared multiplexer <c>asyncTimeout</c> ≤ <see cref="OperationTimeout"/> to avoid it). A call that fails
/// throws <see cref="DogpileRedisUnavailableException"/>; a region with a near cache (<see cref="CacheRegionOptions.NearCache"/>,
/// on by default with <see cref="DogpileRedis.ApplyTo"/>) answers a failed read of a key it holds from there. After a
/// failure the circuit breaker (<see cref="BreakerMinInterval"/>, <see cref="BreakerMaxInterval"/>) makes the next calls
/// fail at once, without waiting, with one probe at a time. A region serves around the failure under
/// <see cref="CacheBackendFailurePolicy.Degrade"/> (see <see cref="FailurePolicy"/>). Nothing needs restarting when Redis
/// returns: the multiplexer reconnects.</para>
/// </remarks>
public sealed class DogpileRedisOptions : ICheckedOptions
{
    /// <summary>A StackExchange.Redis connection string, for example <c>localhost:6379</c>.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? ConnectionString { get; set; }

    /// <summary>A full StackExchange.Redis configuration (used as given, apart from the timeouts and fail-fast settings).</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public ConfigurationOptions? Configuration { get; set; }

    /// <summary>An existing multiplexer to share; it is not disposed with <see cref="DogpileRedis"/>.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public IConnectionMultiplexer? Multiplexer { get; set; }

    /// <summary>The first part of every Redis key and channel Dogpile uses, to keep applications apart in one database.</summary>
    /// <value>Default: <c>dogpile</c>.</value>
    public string KeyPrefix { get; set; } = "dogpile";

    /// <summary>The largest encoded entry the backend writes; larger ones throw <see cref="CacheValueTooLargeException"/> and nothing is written.</summary>
    /// <value>Default: 8 MiB.</value>
    public int MaxValueBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>The longest any single Redis call may take before it fails with <see cref="DogpileRedisUnavailableException"/>.</summary>
    /// <value>
    /// Default: 1 second. It is what the first request that meets a hung Redis pays (after it the breaker answers at once),
    /// so it must be affordable to a web page; Redis on a network answers in about a millisecond, and a limit far below a
    /// second would trip the breaker on a healthy server during a GC pause or a burst of thread-pool growth. The
    /// multiplexer checks its timeouts on a 1 s heartbeat, so a hung call can last up to a second longer.
    /// </value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the connection's circuit breaker stays open after the first failure (not connected, timed out, connection
    /// lost): calls fail at once, without waiting. Each failed probe doubles it, up to <see cref="BreakerMaxInterval"/>.
    /// </summary>
    /// <value>Default: 250 milliseconds.</value>
    public TimeSpan BreakerMinInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest the circuit breaker stays open between probes: a Redis that is back is found within it (sooner when the multiplexer reconnects).</summary>
    /// <value>Default: 5 seconds.</value>
    public TimeSpan BreakerMaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// What regions on this backend do when Redis is unavailable, unless the region sets
    /// <see cref="CacheRegionOptions.BackendFailurePolicy"/>: <see cref="CacheBackendFailurePolicy.Degrade"/> serves
    /// around it (at most one creator per key per process during an outage), <see cref="CacheBackendFailurePolicy.Throw"/>
    /// passes <see cref="DogpileRedisUnavailableException"/> on.
    /// </summary>
    /// <value>Default: <see langword="null"/> (<see cref="CacheBackendFailurePolicy.Degrade"/>).</value>
    public CacheBackendFailurePolicy? FailurePolicy { get; set; }

    /// <summary>The lease of a distributed lock: a holder that dies frees the key after at most this long.</summary>
    /// <value>Default: 30 seconds.</value>
    public TimeSpan LockLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether a held lock's lease is extended (every third of the lease) while its creator runs.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RenewLocks { get; set; } = true;

    /// <summary>The shortest wait between polls of a busy lock, when no release message arrived; it doubles up to <see cref="LockPollMaxInterval"/>, with jitter.</summary>
    /// <value>Default: 50 milliseconds.</value>
    public TimeSpan LockPollMinInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest wait between polls of a busy lock.</summary>
    /// <value>Default: 500 milliseconds.</value>
    public TimeSpan LockPollMaxInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The name of the refresh queue (its stream is <c>{KeyPrefix}:{QueueName}:jobs</c> with a hash tag on the queue).</summary>
    /// <value>Default: <c>refresh</c>.</value>
    public string QueueName { get; set; } = "refresh";

    /// <summary>The consumer group the workers read the queue with.</summary>
    /// <value>Default: <c>dogpile-workers</c>.</value>
    public string ConsumerGroup { get; set; } = "dogpile-workers";

    /// <summary>How long a key's "job pending" marker lives at most, should its job never be acknowledged.</summary>
    /// <value>Default: 10 minutes.</value>
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The approximate cap of the job stream and the dead-letter stream (<c>MAXLEN ~</c>).</summary>
    /// <value>Default: 100,000.</value>
    public int StreamMaxLength { get; set; } = 100_000;

    /// <summary>Throws when a value is out of range or contradicts another.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(DogpileRedisOptions));
        int sources = (string.IsNullOrWhiteSpace(ConnectionString) ? 0 : 1) + (Configuration is null ? 0 : 1) + (Multiplexer is null ? 0 : 1);
        if (sources != 1)
        {
            check.Add(nameof(ConnectionString), "DogpileRedisOptions needs exactly one of ConnectionString, Configuration or Multiplexer.");
        }

        check.NotEmpty(KeyPrefix, nameof(KeyPrefix));
        check.Require(
            !string.IsNullOrWhiteSpace(QueueName) && !QueueName.Contains('{', StringComparison.Ordinal) && !QueueName.Contains('}', StringComparison.Ordinal),
            nameof(QueueName),
            "must be a non-empty name without braces");
        check.NotEmpty(ConsumerGroup, nameof(ConsumerGroup));
        check.AtLeast(MaxValueBytes, 1, nameof(MaxValueBytes));
        check.AtLeast(StreamMaxLength, 1, nameof(StreamMaxLength));
        check.Positive(OperationTimeout, nameof(OperationTimeout));
        check.Positive(BreakerMaxInterval, nameof(BreakerMaxInterval));
        check.Require(
            BreakerMinInterval >= TimeSpan.Zero && BreakerMinInterval <= BreakerMaxInterval,
            nameof(BreakerMinInterval),
            $"({BreakerMinInterval}) must be between zero and BreakerMaxInterval ({BreakerMaxInterval})");
        check.Positive(LockLease, nameof(LockLease));
        check.Positive(LockPollMinInterval, nameof(LockPollMinInterval));
        check.Positive(DeduplicationWindow, nameof(DeduplicationWindow));
        check.Require(
            LockPollMaxInterval >= LockPollMinInterval,
            nameof(LockPollMaxInterval),
            $"({LockPollMaxInterval}) is shorter than LockPollMinInterval ({LockPollMinInterval})");
        return check;
    }
}
