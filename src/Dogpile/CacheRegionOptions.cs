using Dogpile.Internal;

namespace Dogpile;

/// <summary>
/// Region-wide settings. Validated when the region is built: an invalid or contradictory value throws
/// an <see cref="ArgumentException"/> naming the option.
/// </summary>
public sealed class CacheRegionOptions : ICheckedOptions
{
    /// <summary>The expiration value that means "never expires".</summary>
    public static readonly TimeSpan NeverExpires = Timeout.InfiniteTimeSpan;

    /// <summary>The region's name: used in metrics, logs, and as the key of a registered region.</summary>
    /// <value>Required; no default.</value>
    public string Name { get; set; } = "";

    /// <summary>Where entries live.</summary>
    /// <value>Default: a new <see cref="MemoryCacheBackend"/> bounded by <see cref="Memory"/>, for this region alone.</value>
    public ICacheBackend? Backend { get; set; }

    /// <summary>
    /// The bounds of the default memory backend (entry count, and optionally bytes with a weigher); bindable from
    /// configuration (<c>Memory:Capacity</c>, <c>Memory:SizeLimit</c>). Only for the default backend: with
    /// <see cref="Backend"/> set, configure that backend itself.
    /// </summary>
    /// <value>Default: <see langword="null"/> (100,000 entries, no size limit).</value>
    public MemoryCacheBackendOptions? Memory { get; set; }

    /// <summary>
    /// The near cache in front of a shared backend (see <see cref="NearCacheOptions"/>); bindable from configuration
    /// (<c>NearCache:Enabled</c>, <c>NearCache:Capacity</c>, <c>NearCache:Duration</c>). Ignored with the in-process
    /// memory backend.
    /// </summary>
    /// <value>
    /// Default: <see langword="null"/>, no near cache; <c>AddRedis</c>, <c>AddMemcached</c> and <c>DogpileRedis.ApplyTo</c>
    /// set one with the defaults (10,000 entries). Turn it off with <c>NearCache = new() { Enabled = false }</c>.
    /// </value>
    public NearCacheOptions? NearCache { get; set; }

    /// <summary>How long a value is fresh after its creator finished. <see cref="NeverExpires"/> for never.</summary>
    /// <value>Default: 5 minutes.</value>
    public TimeSpan Expiration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long the backend keeps a value past its expiration. Within this window an expired value can still
    /// be served: as a stale value while one refresh runs (up to <see cref="MaxStaleness"/>), and as the
    /// fallback when the creator fails (stale-if-error). After it, the value is gone.
    /// </summary>
    /// <value>Default: 1 hour.</value>
    public TimeSpan StaleWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long past its expiration (or past a soft invalidation) a value is served stale while a refresh runs.
    /// After it, callers wait for a fresh value instead of getting ancient data: stale forever is impossible.
    /// Must not exceed <see cref="StaleWindow"/>.
    /// </summary>
    /// <value>Default: <see langword="null"/>, which means equal to <see cref="StaleWindow"/>.</value>
    public TimeSpan? MaxStaleness { get; set; }

    /// <summary>
    /// When <see langword="true"/>, the caller elected to regenerate a stale value also returns the stale value
    /// at once, and the refresh runs on <see cref="RefreshRunner"/> (dogpile's async creation runner).
    /// When <see langword="false"/>, that one caller regenerates in line, as Python dogpile.cache does.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool BackgroundRefresh { get; set; }

    /// <summary>Runs background and early refreshes.</summary>
    /// <value>Default: a bounded in-process runner sized by <see cref="MaxConcurrentRefreshes"/> and <see cref="RefreshBacklog"/>.</value>
    public IRefreshRunner? RefreshRunner { get; set; }

    /// <summary>The most refreshes the default in-process runner runs at once.</summary>
    /// <value>
    /// Default: 64; between 1 and 4096. Refreshes wait on I/O, not CPU, and keys that come due together (a warm-up, a mass expiry) must all
    /// be refreshed before they expire: with 100 keys and a 200 ms creator on a 1 s expiration, 16 slots take 1.4 s a
    /// round and serve values up to twice their age, 64 slots keep every answer within its expiration (docs/benchmarks.md,
    /// refresh under load). Still a bound: lower it for an upstream that cannot take that many calls at once.
    /// </value>
    public int MaxConcurrentRefreshes { get; set; } = 64;

    /// <summary>The most refreshes the default runner holds waiting; beyond it a refresh is skipped and counted.</summary>
    /// <value>Default: 1024; between 0 and 1,000,000.</value>
    public int RefreshBacklog { get; set; } = 1024;

    /// <summary>
    /// Counts fresh hits in <see cref="CacheRegion.GetStatistics"/> at all times. The count costs about as much
    /// as a third of a memory hit, so by default hits are counted only while a metrics listener (OpenTelemetry,
    /// dotnet-counters, a <c>MeterListener</c>) has the <c>dogpile.hits</c> instrument enabled, as
    /// <c>MemoryCacheOptions.TrackStatistics</c> and Caffeine's <c>recordStats</c> are opt-in. Every other
    /// counter is always kept.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool CountHits { get; set; }

    /// <summary>
    /// How keys appear on the region's trace spans (the <c>Dogpile</c> activity source): hashed, so one key's spans can
    /// be found without the key leaving the process, or omitted.
    /// </summary>
    /// <value>Default: <see cref="TraceKeyMode.Hashed"/>.</value>
    public TraceKeyMode TraceKeys { get; set; } = TraceKeyMode.Hashed;

    /// <summary>
    /// What the region does when its backend, lock provider or invalidation store is unavailable (a
    /// <see cref="CacheBackendUnavailableException"/>): <see cref="CacheBackendFailurePolicy.Degrade"/> serves around it
    /// (at most one creator per key per process during an outage), <see cref="CacheBackendFailurePolicy.Throw"/> fails fast.
    /// </summary>
    /// <value>
    /// Default: <see langword="null"/>: the backend's <see cref="ICacheBackend.FailurePolicy"/> if it has one, otherwise
    /// <see cref="CacheBackendFailurePolicy.Degrade"/>.
    /// </value>
    public CacheBackendFailurePolicy? BackendFailurePolicy { get; set; }

    /// <summary>The cross-process creation lock. <see langword="null"/>: callers are coordinated in this process only.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public ICacheLockProvider? LockProvider { get; set; }

    /// <summary>
    /// The longest a caller waits for another caller's creation of the same key before it gets a
    /// <see cref="CacheLockTimeoutException"/>. A timeout never starts a second creator.
    /// </summary>
    /// <value>Default: 30 seconds. <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>After a failed refresh, how long the key waits before the next attempt; it doubles per consecutive failure.</summary>
    /// <value>Default: 5 seconds.</value>
    public TimeSpan RefreshFailureBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The cap of the doubling back-off after failed refreshes.</summary>
    /// <value>Default: 2 minutes.</value>
    public TimeSpan RefreshFailureMaxBackoff { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Refresh a value in the background once this fraction of its expiration has passed (or earlier by twice its
    /// creation time, when the creator is slow next to the expiration), while still serving it as fresh, so keys in use
    /// are renewed before anyone sees them stale. Between 0 and 1, exclusive; 0 turns it off.
    /// </summary>
    /// <value>
    /// Default: <see langword="null"/>: <see cref="DefaultEarlyRefreshRatio"/> when <see cref="BackgroundRefresh"/> is on
    /// and <see cref="Expiration"/> is finite (and no <see cref="EarlyExpirationBeta"/> is set), off otherwise.
    /// </value>
    public double? EarlyRefreshRatio { get; set; }

    /// <summary>The early-refresh ratio a region with background refresh uses when none is set.</summary>
    public const double DefaultEarlyRefreshRatio = 0.8;

    /// <summary>
    /// Probabilistic early expiration (XFetch: Vattani, Chierichetti and Lowenstein, VLDB 2015). A read
    /// refreshes early when <c>now - creationDuration * beta * ln(random) &gt;= expiry</c>; 1.0 is the
    /// paper's recommended value, higher refreshes earlier.
    /// </summary>
    /// <value>Default: <see langword="null"/> (off).</value>
    public double? EarlyExpirationBeta { get; set; }

    /// <summary>Prepended to every key at the backend boundary, to keep regions apart in a shared backend.</summary>
    /// <value>Default: <see langword="null"/> (no prefix).</value>
    public string? KeyPrefix { get; set; }

    /// <summary>
    /// Applied to every key at the backend boundary only (before the prefix), for example
    /// <see cref="KeyManglers.Sha256"/> for long keys. Callers and the cached-function wrapper always see the original key.
    /// </summary>
    /// <value>
    /// Default: <see langword="null"/> (the backend's <see cref="ICacheBackend.DefaultKeyMangler"/>, if any, which is
    /// applied after the prefix, to the whole backend key, so prefixed keys also keep to the backend's rules).
    /// </value>
    public Func<string, string>? KeyMangler { get; set; }

    /// <summary>Serializer for byte-oriented backends.</summary>
    /// <value>Default: <see cref="SystemTextJsonCacheSerializer.Default"/>.</value>
    public ICacheSerializer? Serializer { get; set; }

    /// <summary>
    /// Checks a value decoded from a byte-oriented backend (Redis, memcached, any shared store) before it is served.
    /// A shared store holds bytes that any writer, any older build, or an attacker with access may have put there:
    /// a payload that parses but is not a valid value (JSON <c>null</c>, <c>{}</c> for a record with required data,
    /// a list with null items) returns <see langword="false"/> here and counts as a miss, logged and counted as an
    /// unreadable entry, so the value is created again instead of served.
    /// </summary>
    /// <value>Default: <see langword="null"/> (every value that deserializes is served).</value>
    /// <remarks>Values held as live objects by the memory backend were produced in this process and are not checked.</remarks>
    public Func<object?, bool>? ValueValidator { get; set; }

    /// <summary>Shares region-wide invalidation between processes.</summary>
    /// <value>Default: <see langword="null"/> (invalidation is process-local).</value>
    public IInvalidationStore? InvalidationStore { get; set; }

    internal TimeSpan EffectiveMaxStaleness => MaxStaleness ?? StaleWindow;

    internal double EffectiveEarlyRefreshRatio => EarlyRefreshRatio
        ?? (BackgroundRefresh && EarlyExpirationBeta is null && Expiration != NeverExpires ? DefaultEarlyRefreshRatio : 0);

    /// <summary>Throws when a value is out of range or contradicts another.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(CacheRegionOptions));
        check.Require(!string.IsNullOrWhiteSpace(Name), nameof(Name), "is required");
        if (Memory is not null)
        {
            if (Backend is not null)
            {
                check.Add(nameof(Memory), "CacheRegionOptions.Memory bounds the default memory backend, but Backend is set: configure that backend instead.");
            }

            check.Include(nameof(Memory), ((ICheckedOptions)Memory).Check());
        }

        if (NearCache is not null)
        {
            check.Include(nameof(NearCache), ((ICheckedOptions)NearCache).Check());
        }

        check.PositiveOrInfinite(Expiration, nameof(Expiration));
        check.NotNegative(StaleWindow, nameof(StaleWindow));
        if (MaxStaleness is { } maxStaleness)
        {
            check.NotNegative(maxStaleness, nameof(MaxStaleness));
            check.Require(
                maxStaleness <= StaleWindow,
                nameof(MaxStaleness),
                $"({maxStaleness}) exceeds StaleWindow ({StaleWindow}): a value cannot be served stale after the backend dropped it");
        }

        check.PositiveOrInfinite(LockTimeout, nameof(LockTimeout));
        check.Require(Enum.IsDefined(TraceKeys), nameof(TraceKeys), $"({(int)TraceKeys}) is not a TraceKeyMode");
        check.Positive(RefreshFailureBackoff, nameof(RefreshFailureBackoff));
        check.Require(
            RefreshFailureMaxBackoff >= RefreshFailureBackoff,
            nameof(RefreshFailureMaxBackoff),
            $"({RefreshFailureMaxBackoff}) is shorter than RefreshFailureBackoff ({RefreshFailureBackoff})");
        check.InRange(MaxConcurrentRefreshes, 1, 4096, nameof(MaxConcurrentRefreshes));
        check.InRange(RefreshBacklog, 0, 1_000_000, nameof(RefreshBacklog));
        check.Require(
            EarlyRefreshRatio is not { } ratio || (ratio >= 0 && ratio < 1),
            nameof(EarlyRefreshRatio),
            $"must be between 0 and 1 (0 turns it off), not {EarlyRefreshRatio}");
        check.Require(
            EarlyExpirationBeta is not { } beta || (beta > 0 && double.IsFinite(beta)),
            nameof(EarlyExpirationBeta),
            $"must be a positive number, not {EarlyExpirationBeta}");
        check.Require(
            Expiration != NeverExpires || (EarlyRefreshRatio is not > 0 && EarlyExpirationBeta is null),
            nameof(Expiration),
            "is NeverExpires, but EarlyRefreshRatio and EarlyExpirationBeta need a finite Expiration: a value that never expires has nothing to refresh early");
        return check;
    }
}
