using System.Diagnostics.Metrics;
using System.Globalization;
using Dogpile.Redis.Tests.Infrastructure;
using Dogpile.Testing;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests;

public sealed class RedisRoundTripAndMetricsTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task UncontendedAcquireAndRelease_TakeTwoScriptCalls()
    {
        await using DogpileRedis redis = TestRedis.Create(server);
        await (await redis.LockProvider.TryAcquireAsync("warm", CancellationToken.None))!.ReleaseAsync(); // scripts loaded
        long before = await ScriptCallsAsync();

        ICacheLock held = (await redis.LockProvider.TryAcquireAsync("k", CancellationToken.None))!;
        await held.ReleaseAsync();

        Assert.Equal(2, await ScriptCallsAsync() - before);
    }

    [Fact]
    public async Task ColdMiss_UnderTheLock_ThreeRoundTrips_TheLockScriptDoesTheReread()
    {
        await using DogpileRedis redis = TestRedis.Create(server);
        await using CacheRegion region = TestRedis.Region(redis, "trips");
        Assert.Equal("warm", await region.GetOrCreateAsync("warm", _ => new ValueTask<string>("warm"))); // scripts loaded
        IConnectionMultiplexer mux = await redis.GetMultiplexerAsync();
        long before = mux.GetCounters().Interactive.OperationCount;

        Assert.Equal("v", await region.GetOrCreateAsync("k", _ => new ValueTask<string>("v")));

        // GET (miss), the lock script that also re-reads the value, the fenced write that releases the lock.
        Assert.Equal(3, mux.GetCounters().Interactive.OperationCount - before);
    }

    [Fact]
    public async Task StaleRead_InQueueMode_EnqueueingTheRefreshIsOneScriptCall()
    {
        await using var rig = new QueueRig(server);
        await rig.MakeStaleAsync("warm");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("warm")); // scripts loaded
        await rig.MakeStaleAsync("m");
        long before = await ScriptCallsAsync();

        Assert.Equal("old", await rig.Fetch.InvokeAsync("m"));

        // The election's lock script, then one script that deduplicates, adds the job, trims and wakes the workers.
        Assert.Equal(2, await ScriptCallsAsync() - before);
        Assert.Equal(1, (await rig.Redis.GetQueueSnapshotAsync()).Length - 1);
    }

    [Fact]
    public async Task StaleRead_ElectedCallerReadsTheKeyOnce_TheLockScriptBringsTheValue()
    {
        // dogpile's "no double get on expired": the stale value comes from the near cache (this process wrote it and
        // Redis announced no change since), then the lock script that also reads the value, and the enqueue.
        await using var rig = new QueueRig(server);
        await rig.MakeStaleAsync("warm");
        Assert.Equal("old", await rig.Fetch.InvokeAsync("warm")); // scripts loaded, subscriptions made
        await rig.MakeStaleAsync("m");
        IConnectionMultiplexer mux = await rig.Redis.GetMultiplexerAsync();
        long before = mux.GetCounters().Interactive.OperationCount;
        long getsBefore = await server.CommandCallsAsync("get");

        Assert.Equal("old", await rig.Fetch.InvokeAsync("m"));

        Assert.Equal(2, mux.GetCounters().Interactive.OperationCount - before);

        // One GET reaches the server: the one inside the lock script (commandstats counts it).
        Assert.Equal(1, await server.CommandCallsAsync("get") - getsBefore);
    }

    [Fact]
    public async Task QueueInstruments_ArePublishedOnTheDogpileRedisMeter()
    {
        var seen = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Dogpile.Redis")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        // Other tests' queues publish on the same meter name at the same time: count only this test's queue.
        string queue = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        bool Ours(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "dogpile.queue" && (string?)tag.Value == queue)
                {
                    return true;
                }
            }

            return false;
        }

        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => { if (Ours(tags)) { lock (seen) { seen[i.Name] = seen.GetValueOrDefault(i.Name) + v; } } });
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => { if (Ours(tags)) { lock (seen) { seen[i.Name] = v; } } });
        listener.Start();

        await using var rig = new QueueRig(server, o => o.QueueName = queue);
        using RedisRefreshWorker worker = rig.Worker();
        await worker.StartAsync(CancellationToken.None);
        await rig.MakeStaleAsync("m");
        await rig.Fetch.InvokeAsync("m");
        await Eventually.TrueAsync(async () => (await rig.Redis.GetQueueSnapshotAsync()).Completed == 1, "the job completed");
        await worker.StopAsync(CancellationToken.None);
        listener.RecordObservableInstruments();

        lock (seen)
        {
            Assert.Equal(1, seen["dogpile.redis.jobs.enqueued"]);
            Assert.Equal(1, seen["dogpile.redis.jobs.completed"]);
            Assert.True(seen.ContainsKey("dogpile.redis.jobs.lag"));
            Assert.True(seen.ContainsKey("dogpile.redis.queue.length"));
            Assert.True(seen.ContainsKey("dogpile.redis.queue.pending"));
        }
    }

    private Task<long> ScriptCallsAsync() => server.CommandCallsAsync("eval", "evalsha");
}
