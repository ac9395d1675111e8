using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Dogpile.Internal;

/// <summary>
/// The <c>Dogpile</c> activity source and the spans it starts. Every span is started only where the region already
/// does slow work (a creation, a lock wait, a refresh), never on a hit; with no listener each start is one
/// <see cref="ActivitySource.HasListeners"/> check that returns <see langword="null"/>.
/// </summary>
internal static class DogpileTracing
{
    public const string SourceName = "Dogpile";

    public static readonly ActivitySource Source = new(SourceName, "1.0");

    public static class Spans
    {
        public const string Create = "dogpile.create";
        public const string LockWait = "dogpile.lock.wait";
        public const string Refresh = "dogpile.refresh";
    }

    public static class Tags
    {
        public const string Region = "dogpile.region";
        public const string KeyHash = "dogpile.key.hash";
        public const string Outcome = "dogpile.outcome";
        public const string LockKind = "dogpile.lock.kind";
        public const string RefreshReason = "dogpile.refresh.reason";
    }

    /// <summary>A creation: the creator run and the store of its value.</summary>
    public static Activity? StartCreation(string region, string key, TraceKeyMode keys)
        => Source.HasListeners() ? Start(Spans.Create, region, key, keys, default) : null;

    /// <summary>
    /// A refresh run, under <paramref name="parent"/> (the context of the call that elected it) when there is one:
    /// the in-process runner takes requests from a channel, which does not flow <see cref="Activity.Current"/>.
    /// </summary>
    public static Activity? StartRefresh(string region, string key, TraceKeyMode keys, RefreshReason? reason, ActivityContext parent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity? activity = Start(Spans.Refresh, region, key, keys, parent);
        if (reason is { } known)
        {
            activity?.SetTag(Tags.RefreshReason, ReasonName(known));
        }
        return activity;
    }

    public static void SetOutcome(this Activity activity, string outcome) => activity.SetTag(Tags.Outcome, outcome);

    public static void SetFailed(this Activity activity, Exception exception)
    {
        activity.SetTag(Tags.Outcome, "failed");
        activity.SetTag("error.type", exception.GetType().FullName);
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
    }

    /// <summary>The first 16 hex digits of SHA-256(UTF-8 key): stable across processes and languages.</summary>
    public static string HashKey(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        int length = Encoding.UTF8.GetByteCount(key);
        byte[]? rented = length <= 256 ? null : new byte[length];
        Span<byte> bytes = rented ?? stackalloc byte[256];
        int written = Encoding.UTF8.GetBytes(key, bytes);
        SHA256.HashData(bytes[..written], hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    public static string ReasonName(RefreshReason reason) => reason switch
    {
        RefreshReason.Expired => "expired",
        RefreshReason.SoftInvalidated => "soft_invalidated",
        RefreshReason.EarlyRefresh => "early",
        _ => "other",
    };

    /// <summary>The <c>dogpile.outcome</c> of a creation or refresh that did not throw.</summary>
    public static string OutcomeName(RefreshOutcome outcome) => outcome switch
    {
        RefreshOutcome.Refreshed => "created",
        RefreshOutcome.NotCached => "not_cached",
        RefreshOutcome.SkippedFresh => "skipped_fresh",
        RefreshOutcome.Failed => "failed",
        RefreshOutcome.Superseded => "superseded",
        RefreshOutcome.Cancelled => "cancelled",
        _ => "other",
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Activity? Start(string name, string region, string key, TraceKeyMode keys, ActivityContext parent)
    {
        Activity? activity = Source.StartActivity(name, ActivityKind.Internal, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Tags.Region, region);
            if (keys == TraceKeyMode.Hashed)
            {
                activity.SetTag(Tags.KeyHash, HashKey(key));
            }
        }

        return activity;
    }
}

/// <summary>
/// One wait for a key's lock: a span and a <c>dogpile.lock.wait.duration</c> measurement, both only when listened to
/// (<see cref="Start"/> returns <see langword="null"/> otherwise, so an unobserved wait allocates nothing).
/// </summary>
internal sealed class LockWait
{
    public const string InProcess = "in_process";
    public const string Distributed = "distributed";

    private readonly Activity? _activity;
    private readonly string _region;
    private readonly string _kind;
    private readonly TimeProvider _time;
    private readonly long _started;
    private bool _stopped;

    private LockWait(Activity? activity, string region, string kind, TimeProvider time)
    {
        _activity = activity;
        _region = region;
        _kind = kind;
        _time = time;
        _started = time.GetTimestamp();
    }

    public static LockWait? Start(string region, string kind, TimeProvider time)
    {
        bool measured = DogpileMetrics.LockWaitDuration.Enabled;
        Activity? activity = DogpileTracing.Source.HasListeners() ? DogpileTracing.Source.StartActivity(DogpileTracing.Spans.LockWait) : null;
        if (activity is null && !measured)
        {
            return null;
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(DogpileTracing.Tags.Region, region);
            activity.SetTag(DogpileTracing.Tags.LockKind, kind);
        }

        return new LockWait(activity, region, kind, time);
    }

    /// <summary>Ends the wait once; later calls (a <c>finally</c> after the outcome was set) do nothing.</summary>
    public void Stop(string outcome)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        DogpileMetrics.RecordLockWait(_region, _kind, outcome, _time.GetElapsedTime(_started));
        if (_activity is not null)
        {
            _activity.SetOutcome(outcome);
            if (outcome is "timeout" or "failed")
            {
                _activity.SetStatus(ActivityStatusCode.Error);
            }

            _activity.Dispose();
        }
    }
}
