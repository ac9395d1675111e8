using System.Text.Json;
using Dogpile.Redis;
using Dogpile.Testing;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Dogpile.Cli.Tests;

/// <summary>
/// A region, its Redis parts and a worker on a real redis-server, under a key prefix of its own so tests share the
/// server without seeing each other's keys; <see cref="Args"/> points the CLI at the same prefix.
/// </summary>
internal sealed class RedisRig : IAsyncDisposable
{
    private int _calls;

    public RedisRig(RedisFixture server)
    {
        Endpoint = server.Endpoint;
        Prefix = "cli" + Guid.NewGuid().ToString("N")[..10];
        Redis = new DogpileRedis(new DogpileRedisOptions { ConnectionString = Endpoint, KeyPrefix = Prefix, LockLease = TimeSpan.FromSeconds(5) });
        var options = new CacheRegionOptions { Name = "jobs", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10), BackgroundRefresh = true };
        Redis.ApplyTo(options, useRefreshQueue: true);
        Region = new CacheRegion(options);
        Fetch = Region.CreateFunction<string, string>("fetch", async (arg, _) =>
        {
            int call = Interlocked.Increment(ref _calls);
            await Task.Yield();
            if (Volatile.Read(ref _failing))
            {
                throw new InvalidOperationException("upstream said no");
            }

            return $"fresh-{arg}-{call}";
        });
    }

    private bool _failing;

    public string Endpoint { get; }

    public string Prefix { get; }

    public DogpileRedis Redis { get; }

    public CacheRegion Region { get; }

    public CachedFunction<string, string> Fetch { get; }

    public bool Failing
    {
        get => Volatile.Read(ref _failing);
        set => Volatile.Write(ref _failing, value);
    }

    public int Calls => Volatile.Read(ref _calls);

    public string DeadLetterStream => $"{Prefix}:{{q:refresh}}:dead";

    /// <summary>The CLI's arguments for <paramref name="command"/> against this rig's Redis and prefix.</summary>
    public string[] Args(params string[] command) => ["redis", .. command, "--redis", Endpoint, "--prefix", Prefix];

    /// <summary>The consumer name of the rig's workers, as an operator sees it in dead letters and the queue status.</summary>
    public string WorkerName => Prefix + "-worker";

    public BackgroundService Worker(int maxAttempts = 1)
        => Redis.CreateWorker(name => name == Region.Name ? Region : null, new RedisRefreshWorkerOptions
        {
            ConsumerName = WorkerName,
            MaxAttempts = maxAttempts,
            MinIdleTime = TimeSpan.FromMilliseconds(300),
            PollInterval = TimeSpan.FromMilliseconds(50),
            ShutdownTimeout = TimeSpan.FromSeconds(2),
        });

    /// <summary>Stores an already expired value, so the next call is served stale and hands a refresh job to the queue.</summary>
    public async Task MakeStaleAsync(string arg)
    {
        await Region.SetAsync(Fetch.KeyFor(arg), "old", new CacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(5) });
        await Eventually.TrueAsync(async () => (await Region.GetItemAsync<string>(Fetch.KeyFor(arg)))?.IsStale == true, "the value is stale");
    }

    public async Task<IDatabase> DbAsync() => (await Redis.GetMultiplexerAsync()).GetDatabase();

    public async ValueTask DisposeAsync()
    {
        await Region.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

public sealed class RedisCommandTests(RedisFixture server) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task DeadLetter_FromReallyFailedJob_ListedShownThenReplayedAndCompletedByRealWorker()
    {
        await using var rig = new RedisRig(server);
        using BackgroundService worker = rig.Worker(maxAttempts: 1);
        await worker.StartAsync(CancellationToken.None);
        rig.Failing = true;
        await rig.MakeStaleAsync("a");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("a"));
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength == 1, "the failed job is dead-lettered", TimeSpan.FromSeconds(15));

        CliResult list = await Cli.RunAsync(rig.Args("dead", "list", "--json"));
        Assert.True(list.ExitCode == 0, list.ToString());
        JsonElement letter = Assert.Single(list.Json.EnumerateArray());
        string id = letter.GetProperty("id").GetString()!;
        Assert.Equal("jobs", letter.GetProperty("region").GetString());
        Assert.Equal("fetch", letter.GetProperty("function").GetString());
        Assert.Contains("upstream said no", letter.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(rig.WorkerName, letter.GetProperty("consumer").GetString());

        CliResult show = await Cli.RunAsync(rig.Args("dead", "show", id));
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("upstream said no", show.Out, StringComparison.Ordinal);
        Assert.Contains(rig.Fetch.KeyFor("a"), show.Out, StringComparison.Ordinal);

        // A state change without a terminal and without --yes is refused; one declined at the prompt too.
        CliResult refused = await Cli.RunAsync(rig.Args("dead", "replay", id));
        Assert.Equal(6, refused.ExitCode);
        Assert.Contains("--yes", refused.Error, StringComparison.Ordinal);
        var asked = new List<string>();
        CliResult declined = await Cli.RunAsync(rig.Args("dead", "replay", id), interactive: true, answer: false, asked: asked);
        Assert.Equal(6, declined.ExitCode);
        Assert.Contains(id, Assert.Single(asked), StringComparison.Ordinal);
        Assert.Equal(1, (await rig.Redis.GetQueueSnapshotAsync()).DeadLetterLength);
        int callsBefore = rig.Calls;

        rig.Failing = false;
        CliResult replay = await Cli.RunAsync(rig.Args("dead", "replay", id, "--yes", "--json"));
        Assert.True(replay.ExitCode == 0, replay.ToString());
        JsonElement replayed = Assert.Single(replay.Json.GetProperty("replayed").EnumerateArray());
        Assert.Equal(id, replayed.GetProperty("deadLetterId").GetString());
        Assert.Empty(replay.Json.GetProperty("notFound").EnumerateArray());

        await Eventually.TrueAsync(async () => (await rig.Fetch.GetAsync("a")) is { HasValue: true } r && r.Value.StartsWith("fresh-a-", StringComparison.Ordinal), "the worker completed the replayed job", TimeSpan.FromSeconds(15));
        Assert.Equal(callsBefore + 1, rig.Calls);
        await Eventually.TrueAsync(async () => (await Cli.RunAsync(rig.Args("queue", "--json"))).Json.GetProperty("length").GetInt64() == 0, "the completed job left the stream");
        CliResult queue = await Cli.RunAsync(rig.Args("queue", "--json"));
        Assert.Equal(0, queue.Json.GetProperty("deadLetters").GetInt64());
        Assert.Equal(0, queue.Json.GetProperty("retrying").GetInt64());
        Assert.Contains(queue.Json.GetProperty("consumers").EnumerateArray(), c => c.GetProperty("name").GetString() == rig.WorkerName);
        await worker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Purge_IdsWithAnUnknownOne_ReportsExactlyWhatWasPurgedAndWhatWasNotFound()
    {
        await using var rig = new RedisRig(server);
        IDatabase db = await rig.DbAsync();
        string first = (string)(await db.StreamAddAsync(rig.DeadLetterStream, [new("region", "jobs"), new("reason", "test")]))!;
        string second = (string)(await db.StreamAddAsync(rig.DeadLetterStream, [new("region", "jobs"), new("reason", "test")]))!;
        string third = (string)(await db.StreamAddAsync(rig.DeadLetterStream, [new("region", "jobs"), new("reason", "test")]))!;

        CliResult purge = await Cli.RunAsync(rig.Args("dead", "purge", first, "1-1", "--yes"));
        Assert.Equal(3, purge.ExitCode); // one id named nothing
        Assert.Contains($"{first}: purged", purge.Out, StringComparison.Ordinal);
        Assert.Contains("1-1: no such dead letter", purge.Error, StringComparison.Ordinal);
        Assert.Contains("Purged 1; not found 1.", purge.Out, StringComparison.Ordinal);
        Assert.Equal(2, await db.StreamLengthAsync(rig.DeadLetterStream));

        CliResult all = await Cli.RunAsync(rig.Args("dead", "purge", "--all", "--yes", "--json"));
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal([second, third], all.Json.GetProperty("purged").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(0, await db.StreamLengthAsync(rig.DeadLetterStream));

        CliResult malformed = await Cli.RunAsync(rig.Args("dead", "show", "not-an-id"));
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("is not a stream id", malformed.Error, StringComparison.Ordinal);
        CliResult unknown = await Cli.RunAsync(rig.Args("dead", "show", "1-1"));
        Assert.Equal(3, unknown.ExitCode);
        Assert.Contains("No dead letter with id '1-1'", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_EntryWithHeldLock_ShowsTimesSizeStateAndLockHolder()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("k", "hello", new CacheEntryOptions { Expiration = TimeSpan.FromMinutes(2) });
        await using ICacheLock? held = await rig.Redis.LockProvider.TryAcquireAsync("jobs:k", CancellationToken.None);
        Assert.NotNull(held);

        CliResult key = await Cli.RunAsync(rig.Args("key", "jobs", "k", "--json"));
        Assert.True(key.ExitCode == 0, key.ToString());
        JsonElement info = key.Json;
        Assert.Equal("jobs:k", info.GetProperty("backendKey").GetString());
        Assert.Equal("fresh", info.GetProperty("state").GetString());
        Assert.True(info.GetProperty("sizeBytes").GetInt64() > 26);
        DateTimeOffset created = info.GetProperty("created").GetDateTimeOffset();
        Assert.Equal(created + TimeSpan.FromMinutes(2), info.GetProperty("freshUntil").GetDateTimeOffset());
        // Redis keeps it for the expiration plus the region's stale window.
        DateTimeOffset staleUntil = info.GetProperty("staleUntil").GetDateTimeOffset();
        Assert.InRange(staleUntil - created, TimeSpan.FromMinutes(11), TimeSpan.FromMinutes(12.5));
        Assert.Equal("\"hello\"", info.GetProperty("payloadPreview").GetString());
        Assert.Equal(held.OwnerToken, info.GetProperty("lock").GetProperty("owner").GetString());
        Assert.Equal(held.FencingToken, info.GetProperty("lock").GetProperty("fence").GetInt64());

        CliResult table = await Cli.RunAsync(rig.Args("key", "jobs", "k"));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("fresh until", table.Out, StringComparison.Ordinal);
        Assert.Contains(held.OwnerToken!, table.Out, StringComparison.Ordinal);

        CliResult locks = await Cli.RunAsync(rig.Args("locks", "--json"));
        JsonElement listed = Assert.Single(locks.Json.EnumerateArray());
        Assert.Equal("jobs:k", listed.GetProperty("backendKey").GetString());
        Assert.Equal(held.OwnerToken, listed.GetProperty("owner").GetString());
        Assert.Equal(held.FencingToken, listed.GetProperty("fence").GetInt64());
        Assert.NotNull(listed.GetProperty("remainingLease").GetString());
    }

    [Fact]
    public async Task Key_TaggedEntry_ShowsItsTags_AndAHardTagInvalidationAsInvalidated()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("t", "tagged", new CacheEntryOptions { Expiration = TimeSpan.FromMinutes(2), Tags = ["kernel", "bugs"] });
        await rig.Region.SetAsync("u", "untagged", new CacheEntryOptions { Expiration = TimeSpan.FromMinutes(2) });

        CliResult key = await Cli.RunAsync(rig.Args("key", "jobs", "t", "--json"));
        Assert.True(key.ExitCode == 0, key.ToString());
        Assert.Equal(["kernel", "bugs"], key.Json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("fresh", key.Json.GetProperty("state").GetString());
        CliResult table = await Cli.RunAsync(rig.Args("key", "jobs", "t"));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("kernel, bugs", table.Out, StringComparison.Ordinal);
        CliResult untagged = await Cli.RunAsync(rig.Args("key", "jobs", "u", "--json"));
        Assert.Empty(untagged.Json.GetProperty("tags").EnumerateArray());

        // The region now misses the tagged value: the key's state says so; the untagged one is untouched.
        await rig.Region.InvalidateTagAsync("bugs", InvalidationMode.Hard);
        Assert.False((await rig.Region.GetAsync<string>("t")).HasValue);
        CliResult invalidated = await Cli.RunAsync(rig.Args("key", "jobs", "t", "--json"));
        Assert.Equal("invalidated", invalidated.Json.GetProperty("state").GetString());
        Assert.Equal("fresh", (await Cli.RunAsync(rig.Args("key", "jobs", "u", "--json"))).Json.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Key_MissingKeyInKnownRegion_Exit3_UnknownRegion_Exit4()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("present", "v");

        CliResult missing = await Cli.RunAsync(rig.Args("key", "jobs", "absent"));
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("No such key", missing.Error, StringComparison.Ordinal);

        CliResult unknown = await Cli.RunAsync(rig.Args("key", "jbos", "present"));
        Assert.Equal(4, unknown.ExitCode);
        Assert.Contains("Unknown region 'jbos'", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_NeedsConfirmation_ThenDeletesTheValue()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("gone", "v");
        await rig.Region.SetAsync("stays", "v"); // keeps the region known once "gone" is gone

        CliResult refused = await Cli.RunAsync(rig.Args("remove", "jobs", "gone"));
        Assert.Equal(6, refused.ExitCode);
        Assert.True((await rig.Region.GetAsync<string>("gone")).HasValue);

        CliResult removed = await Cli.RunAsync(rig.Args("remove", "jobs", "gone"), interactive: true, answer: true);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.Contains("Removed 'jobs:gone'", removed.Out, StringComparison.Ordinal);

        // The removal's change notice evicts the key from the region's near cache (pub/sub: soon, not at once).
        await Eventually.TrueAsync(async () => !(await rig.Region.GetAsync<string>("gone")).HasValue, "the removal reaches the near cache");

        CliResult again = await Cli.RunAsync(rig.Args("remove", "jobs", "gone", "--yes"));
        Assert.Equal(3, again.ExitCode);
    }

    [Fact]
    public async Task Invalidate_HardThenSoft_RunningRegionAppliesIt()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("x", "v");

        CliResult soft = await Cli.RunAsync(rig.Args("invalidate", "jobs", "--soft", "--yes", "--json"));
        Assert.True(soft.ExitCode == 0, soft.ToString());
        Assert.Equal("soft", soft.Json.GetProperty("mode").GetString());
        await Eventually.TrueAsync(async () => (await rig.Region.GetItemAsync<string>("x"))?.IsStale == true, "the running region sees the value stale");

        CliResult hard = await Cli.RunAsync(rig.Args("invalidate", "jobs", "--yes"));
        Assert.True(hard.ExitCode == 0, hard.ToString());
        await Eventually.TrueAsync(async () => await rig.Region.GetItemAsync<string>("x") is null, "the running region sees the value missing");
        CliResult key = await Cli.RunAsync(rig.Args("key", "jobs", "x", "--json"));
        Assert.Equal("invalidated", key.Json.GetProperty("state").GetString());

        CliResult unknown = await Cli.RunAsync(rig.Args("invalidate", "jbos", "--yes"));
        Assert.Equal(4, unknown.ExitCode);
        Assert.Contains("--force", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalidate_Tag_RunningRegionDropsOnlyTheTaggedValues()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("tagged", "v", new CacheEntryOptions { Tags = ["customer:7"] });
        await rig.Region.SetAsync("other", "v", new CacheEntryOptions { Tags = ["customer:8"] });

        CliResult soft = await Cli.RunAsync(rig.Args("invalidate", "jobs", "--tag", "customer:7", "--soft", "--yes", "--json"));
        Assert.True(soft.ExitCode == 0, soft.ToString());
        Assert.Equal("customer:7", soft.Json.GetProperty("tag").GetString());
        await Eventually.TrueAsync(async () => (await rig.Region.GetItemAsync<string>("tagged"))?.IsStale == true, "the running region sees the tagged value stale");

        CliResult hard = await Cli.RunAsync(rig.Args("invalidate", "jobs", "--tag", "customer:7", "--yes"));
        Assert.True(hard.ExitCode == 0, hard.ToString());
        Assert.Contains("Tag 'customer:7'", hard.Out, StringComparison.Ordinal);
        await Eventually.TrueAsync(async () => await rig.Region.GetItemAsync<string>("tagged") is null, "the running region sees the tagged value missing");
        Assert.Equal("v", (await rig.Region.GetAsync<string>("other")).Value);

        CliResult invalid = await Cli.RunAsync(rig.Args("invalidate", "jobs", "--tag", "*", "--yes"));
        Assert.Equal(2, invalid.ExitCode);
    }

    [Fact]
    public async Task Watch_Json_OneLinePerSampleWithQueueDeadLettersLocksAndHealth()
    {
        await using var rig = new RedisRig(server);
        IDatabase db = await rig.DbAsync();
        await db.StreamAddAsync(rig.DeadLetterStream, [new("region", "jobs"), new("reason", "test")]);
        await using ICacheLock? held = await rig.Redis.LockProvider.TryAcquireAsync("jobs:w", CancellationToken.None);

        CliResult watch = await Cli.RunAsync(rig.Args("watch", "--json", "--samples", "2", "--interval", "0.2"));
        Assert.True(watch.ExitCode == 0, watch.ToString());
        string[] lines = watch.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        JsonElement last = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal("ok", last.GetProperty("health").GetString());
        Assert.Equal(1, last.GetProperty("deadLetters").GetInt64());
        Assert.Equal(1, last.GetProperty("locks").GetInt32());
        Assert.Equal(0, last.GetProperty("jobs").GetInt64());
    }

    [Fact]
    public async Task WrongConnection_Exit5_WithTheServerNamedAndNoPassword()
    {
        int closed = ServerProcess.FreePort();
        CliResult result = await Cli.RunAsync(["redis", "queue", "--redis", $"127.0.0.1:{closed},password=hunter2", "--timeout", "1"]);
        Assert.Equal(5, result.ExitCode);
        Assert.Contains($"Cannot reach Redis at '127.0.0.1:{closed}", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionFromEnvironment_UsedWhenNoOptionGiven()
    {
        await using var rig = new RedisRig(server);
        await rig.Region.SetAsync("e", "v");
        CliResult result = await Cli.RunAsync(["redis", "key", "jobs", "e", "--json"], environment: new Dictionary<string, string> { ["DOGPILE_REDIS"] = rig.Endpoint, ["DOGPILE_PREFIX"] = rig.Prefix });
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("fresh", result.Json.GetProperty("state").GetString());
    }

    [Fact]
    public async Task UnknownCommand_Exit2_WithUsageHint()
    {
        CliResult result = await Cli.RunAsync(["redis", "qeueu"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("dogpile --help", result.Error, StringComparison.Ordinal);
    }
}
