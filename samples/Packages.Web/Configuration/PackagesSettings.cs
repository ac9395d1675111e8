using System.Globalization;

namespace Packages.Web.Configuration;

/// <summary>Where cached values live (<c>Cache:Backend</c>).</summary>
public enum CacheBackendKind
{
    /// <summary>In this process's memory: the embedded default.</summary>
    Memory,

    /// <summary>Redis, shared by every web and worker process (Dogpile.Redis).</summary>
    Redis,

    /// <summary>Memcached (Dogpile.Memcached).</summary>
    Memcached,
}

/// <summary>Who regenerates a stale value (<c>Cache:Refresh</c>).</summary>
public enum RefreshMode
{
    /// <summary>A bounded background runner in this process (dogpile's async creation runner).</summary>
    InProcess,

    /// <summary>A durable queue that worker processes drain, as in the seed story's retask + redis.</summary>
    Queue,
}

/// <summary>The <c>Cache</c> section.</summary>
/// <param name="Backend"><c>Cache:Backend</c>: memory (default), redis or memcached.</param>
/// <param name="Endpoints"><c>Cache:Connection</c>: <c>host:port[,host:port]</c>; required for redis and memcached.</param>
/// <param name="Expiration"><c>Cache:ExpirationSeconds</c>: when a value turns stale (default 60 s).</param>
/// <param name="Refresh"><c>Cache:Refresh</c>: inprocess (default) or queue.</param>
public sealed record CacheSettings(
    CacheBackendKind Backend,
    IReadOnlyList<string> Endpoints,
    TimeSpan Expiration,
    RefreshMode Refresh)
{
    /// <summary>
    /// <c>Cache:EarlyRefreshRatio</c>: refresh values ahead of their expiry once this fraction of it has passed (between
    /// 0 and 1). Default 0, off: the app shows the seed story's stale-while-revalidate, a stale page served at once while
    /// one refresh runs. The library's own default with background refresh is 0.8, so that nobody sees a stale value.
    /// </summary>
    public double EarlyRefreshRatio { get; init; }

    /// <summary>
    /// <c>Cache:FailurePolicy</c>: degrade (default) serves every page while the shared cache is down (each instance calls
    /// the tracker itself, at most once per value; responses carry <c>X-Cache-Degraded</c>); throw answers 503 instead.
    /// </summary>
    public Dogpile.CacheBackendFailurePolicy FailurePolicy { get; init; }
}

/// <summary>The <c>Upstream</c> section.</summary>
/// <param name="Url"><c>Upstream:Url</c>: the bug tracker; <see langword="null"/> starts the simulator in this process.</param>
/// <param name="DelayScale"><c>Upstream:DelayScale</c>: latency scale of the embedded simulator (default 1: kernel takes ~3 s).</param>
/// <param name="Timeout"><c>Upstream:TimeoutSeconds</c>: how long one upstream request may take (default 30 s).</param>
public sealed record UpstreamSettings(Uri? Url, double DelayScale, TimeSpan Timeout);

/// <summary>Every setting the app reads, parsed and checked once at startup.</summary>
/// <param name="Cache">The <c>Cache</c> section.</param>
/// <param name="WorkerEnabled"><c>Worker:Enabled</c>: also drain the refresh queue in this process (default false).</param>
/// <param name="Upstream">The <c>Upstream</c> section.</param>
public sealed record PackagesSettings(CacheSettings Cache, bool WorkerEnabled, UpstreamSettings Upstream)
{
    /// <summary>How a process that drains the refresh queue runs its jobs (<c>Worker:MaxConcurrency</c>, <c>Worker:ReclaimAfterSeconds</c>).</summary>
    public WorkerSettings Worker { get; init; } = new(4, TimeSpan.FromSeconds(30));

    /// <summary>Default of <c>Cache:ExpirationSeconds</c>.</summary>
    public const double DefaultExpirationSeconds = 60;

    /// <summary>Default of <c>Upstream:TimeoutSeconds</c>.</summary>
    public const double DefaultUpstreamTimeoutSeconds = 30;

    /// <summary>Reads and checks the settings; every problem found is reported at once, each naming its setting.</summary>
    /// <param name="configuration">The app's configuration (command line, environment, appsettings.json).</param>
    /// <returns>The settings.</returns>
    /// <exception cref="StartupException">A value is invalid, or settings contradict each other.</exception>
    public static PackagesSettings Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();

        var backend = ParseEnum(configuration, "Cache:Backend", CacheBackendKind.Memory, errors,
            ("memory", CacheBackendKind.Memory), ("redis", CacheBackendKind.Redis), ("memcached", CacheBackendKind.Memcached));
        var refresh = ParseEnum(configuration, "Cache:Refresh", RefreshMode.InProcess, errors,
            ("inprocess", RefreshMode.InProcess), ("queue", RefreshMode.Queue));
        var expiration = ParseSeconds(configuration, "Cache:ExpirationSeconds", DefaultExpirationSeconds, errors);
        var earlyRefresh = ParseRatio(configuration, "Cache:EarlyRefreshRatio", errors);
        var failurePolicy = ParseEnum(configuration, "Cache:FailurePolicy", Dogpile.CacheBackendFailurePolicy.Degrade, errors,
            ("degrade", Dogpile.CacheBackendFailurePolicy.Degrade), ("throw", Dogpile.CacheBackendFailurePolicy.Throw));
        var endpoints = ParseEndpoints(configuration, "Cache:Connection", errors);
        var worker = ParseBool(configuration, "Worker:Enabled", errors);
        var workerConcurrency = ParsePositiveInt(configuration, "Worker:MaxConcurrency", 4, 256, errors);
        var reclaimAfter = ParseSeconds(configuration, "Worker:ReclaimAfterSeconds", 30, errors);
        var url = ParseUrl(configuration, "Upstream:Url", errors);
        var delayScale = ParseDelayScale(configuration, "Upstream:DelayScale", errors);
        var timeout = ParseSeconds(configuration, "Upstream:TimeoutSeconds", DefaultUpstreamTimeoutSeconds, errors);

        if (backend != CacheBackendKind.Memory && endpoints.Count == 0 && !errors.Any(e => e.StartsWith("Cache:Connection", StringComparison.Ordinal)))
        {
            errors.Add($"Cache:Connection is required with Cache:Backend {Name(backend)}: give host:port[,host:port].");
        }

        if (refresh == RefreshMode.Queue && backend != CacheBackendKind.Redis)
        {
            errors.Add($"Cache:Refresh queue needs Cache:Backend redis (the queue lives in redis, shared by web and worker processes); Cache:Backend is {Name(backend)}.");
        }

        if (worker && refresh != RefreshMode.Queue)
        {
            errors.Add("Worker:Enabled true needs Cache:Refresh queue: with in-process refresh there is no queue for a worker to drain.");
        }

        if (errors.Count > 0)
        {
            throw new StartupException(string.Join(Environment.NewLine, errors));
        }

        return new PackagesSettings(
            new CacheSettings(backend, endpoints, expiration, refresh) { EarlyRefreshRatio = earlyRefresh, FailurePolicy = failurePolicy },
            worker,
            new UpstreamSettings(url, delayScale, timeout))
        {
            Worker = new WorkerSettings(workerConcurrency, reclaimAfter),
        };
    }

    /// <summary>The configuration spelling of a backend.</summary>
    /// <param name="backend">The backend.</param>
    /// <returns>memory, redis or memcached.</returns>
    public static string Name(CacheBackendKind backend) => backend.ToString().ToLowerInvariant();

    /// <summary>The configuration spelling of a refresh mode.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>inprocess or queue.</returns>
    public static string Name(RefreshMode mode) => mode.ToString().ToLowerInvariant();

    private static T ParseEnum<T>(IConfiguration configuration, string key, T fallback, List<string> errors, params (string Name, T Value)[] choices)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        foreach (var (name, value) in choices)
        {
            if (string.Equals(text.Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        errors.Add($"{key} must be one of {string.Join(", ", choices.Select(c => c.Name))}; got '{Shown(text)}'.");
        return fallback;
    }

    private static TimeSpan ParseSeconds(IConfiguration configuration, string key, double fallback, List<string> errors)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return TimeSpan.FromSeconds(fallback);
        }

        // Up to a day: a logical expiry or request timeout beyond that is a typo, not a policy.
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            || !double.IsFinite(seconds) || seconds <= 0 || seconds > 86_400)
        {
            errors.Add($"{key} must be a number of seconds greater than 0 and at most 86400; got '{Shown(text)}'.");
            return TimeSpan.FromSeconds(fallback);
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static double ParseRatio(IConfiguration configuration, string key, List<string> errors)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return 0;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || !(ratio >= 0 && ratio < 1))
        {
            errors.Add($"{key} must be a number from 0 (off) to below 1; got '{Shown(text)}'.");
            return 0;
        }

        return ratio;
    }

    private static double ParseDelayScale(IConfiguration configuration, string key, List<string> errors)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return 1.0;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) || !double.IsFinite(scale) || scale < 0)
        {
            errors.Add($"{key} must be a finite number >= 0 (1 = real-feeling latency, 0 = none); got '{Shown(text)}'.");
            return 1.0;
        }

        return scale;
    }

    private static int ParsePositiveInt(IConfiguration configuration, string key, int fallback, int max, List<string> errors)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 1 || value > max)
        {
            errors.Add($"{key} must be a whole number from 1 to {max}; got '{Shown(text)}'.");
            return fallback;
        }

        return value;
    }

    private static bool ParseBool(IConfiguration configuration, string key, List<string> errors)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (!bool.TryParse(text.Trim(), out var value))
        {
            errors.Add($"{key} must be true or false; got '{Shown(text)}'.");
        }

        return value;
    }

    private static Uri? ParseUrl(IConfiguration configuration, string key, List<string> errors)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{key} must be an absolute http:// or https:// URL such as http://127.0.0.1:5081/; got '{Shown(text)}'.");
            return null;
        }

        // A trailing slash so relative paths like "bugs/kernel" land under any base path.
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    private static List<string> ParseEndpoints(IConfiguration configuration, string key, List<string> errors)
    {
        var endpoints = new List<string>();
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return endpoints;
        }

        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                errors.Add($"{key} must be host:port[,host:port] with ports 1-65535; '{Shown(part)}' is not.");
                return endpoints;
            }

            endpoints.Add(part);
        }

        return endpoints;
    }

    /// <summary>A configured value quoted in an error: short and free of control characters.</summary>
    private static string Shown(string text)
    {
        var clean = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length <= 80 ? clean : clean[..80] + "...";
    }
}

/// <summary>The app cannot start as configured; the message says which setting to fix and how.</summary>
public sealed class StartupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StartupException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What to fix, naming the setting.</param>
    public StartupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What to fix, naming the setting.</param>
    /// <param name="innerException">The cause.</param>
    public StartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The <c>Worker</c> section, for processes that drain the refresh queue.</summary>
/// <param name="MaxConcurrency"><c>Worker:MaxConcurrency</c>: refresh jobs run at once (default 4).</param>
/// <param name="ReclaimAfter"><c>Worker:ReclaimAfterSeconds</c>: how long a job may sit unacknowledged with a dead worker before another takes it (default 30 s).</param>
public sealed record WorkerSettings(int MaxConcurrency, TimeSpan ReclaimAfter);
