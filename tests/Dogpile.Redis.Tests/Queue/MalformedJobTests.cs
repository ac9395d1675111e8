using System.Globalization;
using System.Text;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Queue;

/// <summary>
/// The queue's fault suite for bad jobs, on a real redis-server and a real worker: a job written straight into the
/// stream with one field missing or wrong is dead-lettered with its reason, its lock is released (or never taken),
/// and a legitimate job for the same key then runs and makes the key fresh again.
/// </summary>
public sealed class MalformedJobTests(RedisServer server) : IClassFixture<RedisServer>
{
    private const string Arg = "g";
    private const string BackendKey = "jobs:fetch:g";
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>Each case: how the job differs from a good one, what its reason says, whether it carries a real lock.</summary>
    private static readonly Dictionary<string, (Action<Dictionary<string, string>> Spoil, string Reason, bool CarriesLock)> Cases = new()
    {
        ["job id missing"] = (f => f.Remove("job"), "missing field 'job'", true),
        ["job id empty"] = (f => f["job"] = "", "missing field 'job'", true),
        ["region missing"] = (f => f.Remove("region"), "missing field 'region'", true),
        ["region unknown"] = (f => f["region"] = "nowhere", "unknown region 'nowhere'", true),
        ["function missing"] = (f => f.Remove("function"), "missing field 'function'", true),
        ["function unknown"] = (f => f["function"] = "unregistered", "unknown function 'unregistered'", true),
        ["arguments missing"] = (f => f.Remove("args"), "missing field 'args'", true),
        ["arguments not base64"] = (f => f["args"] = "%%%not base64", "not valid base64", true),
        ["arguments not JSON"] = (f => f["args"] = Base64("{not json"), "unreadable arguments", true),
        ["arguments empty"] = (f => f["args"] = "", "unreadable arguments", true),
        ["arguments of another type"] = (f => f["args"] = Base64("[1,2]"), "unreadable arguments", true),
        ["arguments oversized"] = (f => f["args"] = Base64(Json(new string('o', 2 * 1024 * 1024))), "over the limit", true),
        ["backend key missing"] = (f => f.Remove("backendKey"), "missing field 'backendKey'", false),
        ["backend key of other arguments"] = (f => f["args"] = Base64(Json("h")), "mismatched key", true),
        ["key of other arguments"] = (f => f["key"] = "fetch:h", "mismatched key", true),
        ["fence not a number"] = (f => f["fence"] = "seven", "fence", true),
        ["fence negative"] = (f => f["fence"] = "-3", "fence", true),
        ["fence missing with a token"] = (f => f.Remove("fence"), "fence", true),
        ["token garbage"] = (f => f["token"] = "not a token!", "token", false),
        ["enqueuedAt garbage"] = (f => f["enqueuedAt"] = "yesterday", "enqueuedAt", true),
        ["enqueuedAt out of range"] = (f => f["enqueuedAt"] = long.MaxValue.ToString(CultureInfo.InvariantCulture), "enqueuedAt", true),
        ["traceparent garbage"] = (f => f["traceparent"] = "not-a-trace-context", "not a W3C trace context", true),
        ["traceparent oversized"] = (f => f["traceparent"] = "00-" + new string('a', 200), "the traceparent is 203 characters, over the limit of 128", true),
        ["tracestate oversized"] = (f => (f["traceparent"], f["tracestate"]) = (TraceParent, "v=" + new string('x', 600)), "the tracestate is 602 characters, over the limit of 512", true),
        ["tracestate without traceparent"] = (f => f["tracestate"] = "v=1", "tracestate but no traceparent", true),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task BadJob_DeadLetteredWithReason_NoLockLeft_KeyFreshAgainAfterLegitimateJob(string name)
    {
        (Action<Dictionary<string, string>> spoil, string reason, bool carriesLock) = Cases[name];
        await using var rig = new QueueRig(server);
        IDatabase db = await rig.Redis.DbAsync();
        Dictionary<string, string> fields = await GoodJobAsync(rig, Arg, BackendKey, carriesLock);
        spoil(fields);
        await db.StreamAddAsync(rig.Keys.Stream, [.. fields.Select(f => new NameValueEntry(f.Key, f.Value))]);

        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the bad job is dead-lettered");

        // At once, well within the 5 s lease: the worker released the job's lock, it did not just expire.
        Assert.Empty(await LocksAsync(rig));
        StreamEntry dead = (await db.StreamRangeAsync(rig.Keys.DeadLetter)).Single();
        Assert.Contains(reason, (string)dead["reason"]!, StringComparison.Ordinal);
        foreach ((string field, string value) in fields)
        {
            Assert.Equal(value, (string)dead[field]!);
        }

        Assert.Equal(0, rig.Calls);
        RedisQueueSnapshot snapshot = await rig.Redis.GetQueueSnapshotAsync();
        Assert.Equal(0, snapshot.Length);
        Assert.Equal(0, snapshot.Pending);

        await AssertLegitimateJobRefreshesAsync(rig, Arg);
        await worker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task JobWhoseKeyIsOverTheBackendLimit_DeadLetteredAndItsLockReleased_WorkerGoesOn()
    {
        await using var rig = new QueueRig(server);
        IDatabase db = await rig.Redis.DbAsync();
        string longArg = new('x', 10_000);
        Dictionary<string, string> fields = await GoodJobAsync(rig, longArg, "jobs:fetch:" + longArg, carriesLock: true);
        await db.StreamAddAsync(rig.Keys.Stream, [.. fields.Select(f => new NameValueEntry(f.Key, f.Value))]);

        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the job is dead-lettered");

        Assert.Empty(await LocksAsync(rig));
        string reason = (string)(await db.StreamRangeAsync(rig.Keys.DeadLetter)).Single()["reason"]!;
        Assert.Contains("invalid key", reason, StringComparison.Ordinal);
        Assert.Contains("over the backend's limit", reason, StringComparison.Ordinal);
        Assert.True(reason.Length < 1000, "the reason quotes the long key shortened");
        Assert.Equal(0, rig.Calls);
        Assert.Equal(0, (await rig.Redis.GetQueueSnapshotAsync()).Pending);

        await AssertLegitimateJobRefreshesAsync(rig, Arg);
        await worker.StopAsync(CancellationToken.None);
    }

    /// <summary>The fields an enqueue writes for <paramref name="arg"/>, with a lock taken and handed off as the enqueue does.</summary>
    private static async Task<Dictionary<string, string>> GoodJobAsync(QueueRig rig, string arg, string backendKey, bool carriesLock)
    {
        string token = "", fence = "0";
        if (carriesLock)
        {
            var held = (RedisLockHandle)(await rig.Redis.LockProvider.TryAcquireAsync(backendKey, CancellationToken.None))!;
            held.StopRenewal();
            (token, fence) = (held.OwnerToken, held.FencingToken.ToString(CultureInfo.InvariantCulture));
        }

        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["job"] = Guid.NewGuid().ToString("N"),
            ["region"] = "jobs",
            ["function"] = "fetch",
            ["args"] = Base64(Json(arg)),
            ["key"] = "fetch:" + arg,
            ["backendKey"] = backendKey,
            ["token"] = token,
            ["fence"] = fence,
            ["refreshReason"] = "Stale",
            ["enqueuedAt"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        };
    }

    private static async Task AssertLegitimateJobRefreshesAsync(QueueRig rig, string arg)
    {
        await rig.MakeStaleAsync(arg);
        Assert.Equal("old", await rig.Fetch.InvokeAsync(arg));
        await Eventually.TrueAsync(async () => (await rig.FreshValueAsync(arg))?.StartsWith("fresh-" + arg, StringComparison.Ordinal) == true, "a legitimate job made the key fresh again");
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()) is { Length: 0, Pending: 0 }, "the legitimate job is acknowledged");
        Assert.Empty(await LocksAsync(rig));
        Assert.Equal(1, rig.Calls);
    }

    private static Task<string[]> LocksAsync(QueueRig rig) => JobTimeLimitTests.LocksAsync(rig);

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
