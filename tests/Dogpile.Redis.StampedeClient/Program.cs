using System.Diagnostics;
using System.Text.Json;
using Dogpile;
using Dogpile.Redis;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

// A separate OS process for the cross-process tests.
//   stampede <connection> <prefix> <key> <counterKey> <gateKey> <callers>
//     Prints READY, waits until the gate key exists, then runs <callers> concurrent GetOrCreate calls of <key>; the
//     creator INCRs <counterKey> and takes ~200 ms. Prints one JSON line: values seen (with counts), latencies, errors.
//   near <connection> <prefix> <region>
//     A region with a near cache that trusts an entry for an hour without the change feed, so only the feed can make it
//     see another process's change. Prints READY, then answers each stdin line "get <key>" with the value (or <miss>)
//     and exits on "quit".
//   worker <connection> <prefix> <queue> <startedKey>
//     Runs a refresh worker whose function "slow" INCRs <startedKey> and then blocks forever. Prints READY.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: stampede|worker ...");
    return 2;
}

return args[0] switch
{
    "stampede" => await StampedeAsync(args[1], args[2], args[3], args[4], args[5], int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture)),
    "worker" => await WorkerAsync(args[1], args[2], args[3], args[4]),
    "near" => await NearAsync(args[1], args[2], args[3]),
    _ => 2,
};

static async Task<int> StampedeAsync(string connection, string prefix, string key, string counterKey, string gateKey, int callers)
{
    await using var redis = new DogpileRedis(new DogpileRedisOptions { ConnectionString = connection, KeyPrefix = prefix });
    IDatabase db = (await redis.GetMultiplexerAsync()).GetDatabase();
    var options = new CacheRegionOptions { Name = "stampede", Expiration = TimeSpan.FromMinutes(1), StaleWindow = TimeSpan.FromMinutes(10), LockTimeout = TimeSpan.FromSeconds(20) };
    redis.ApplyTo(options, useRefreshQueue: false);
    await using var region = new CacheRegion(options);

    // Warm up the connection and the subscription so the gate opens on a ready process.
    _ = await region.GetAsync<string>("warm-up");
    Console.WriteLine("READY");
    Console.Out.Flush();
    while (!await db.KeyExistsAsync(gateKey))
    {
        await Task.Delay(2);
    }

    var values = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
    var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
    var latencies = new double[callers];
    await Task.WhenAll(Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
    {
        var watch = Stopwatch.StartNew();
        try
        {
            string value = await region.GetOrCreateAsync(key, async ct =>
            {
                long n = await db.StringIncrementAsync(counterKey);
                await Task.Delay(200, ct);
                return "v" + n;
            });
            values.AddOrUpdate(value, 1, (_, c) => c + 1);
        }
        catch (Exception ex)
        {
            errors.Add(ex.GetType().Name + ": " + ex.Message);
        }

        latencies[i] = watch.Elapsed.TotalMilliseconds;
    })));

    Console.WriteLine(JsonSerializer.Serialize(new StampedeResult(new Dictionary<string, int>(values), latencies.Max(), latencies.Average(), [.. errors])));
    return 0;
}

static async Task<int> NearAsync(string connection, string prefix, string regionName)
{
    await using var redis = new DogpileRedis(new DogpileRedisOptions { ConnectionString = connection, KeyPrefix = prefix });
    var options = new CacheRegionOptions { Name = regionName, Expiration = TimeSpan.FromMinutes(5), NearCache = new NearCacheOptions { Duration = TimeSpan.FromHours(1) } };
    redis.ApplyTo(options, useRefreshQueue: false);
    await using var region = new CacheRegion(options);
    _ = await region.GetAsync<string>("warm-up");
    Console.WriteLine("READY");
    Console.Out.Flush();
    while (Console.ReadLine() is { } line && line != "quit")
    {
        string[] parts = line.Split(' ', 2);
        string answer = parts[0] switch
        {
            "get" => (await region.GetAsync<string>(parts[1])) is { HasValue: true } hit ? hit.Value : "<miss>",
            _ => "?",
        };
        Console.WriteLine(answer);
        Console.Out.Flush();
    }

    return 0;
}

static async Task<int> WorkerAsync(string connection, string prefix, string queue, string startedKey)
{
    await using var redis = new DogpileRedis(new DogpileRedisOptions { ConnectionString = connection, KeyPrefix = prefix, QueueName = queue, LockLease = TimeSpan.FromSeconds(2) });
    IDatabase db = (await redis.GetMultiplexerAsync()).GetDatabase();
    var options = new CacheRegionOptions { Name = "jobs", BackgroundRefresh = true };
    redis.ApplyTo(options);
    await using var region = new CacheRegion(options);
    region.CreateFunction<string, string>("slow", async (arg, ct) =>
    {
        await db.StringIncrementAsync(startedKey);
        await Task.Delay(Timeout.Infinite, ct);
        return "never";
    });

    using BackgroundService worker = redis.CreateWorker(name => name == region.Name ? region : null, new RedisRefreshWorkerOptions { MinIdleTime = TimeSpan.FromMinutes(5), PollInterval = TimeSpan.FromMilliseconds(100) });
    await worker.StartAsync(CancellationToken.None);
    Console.WriteLine("READY");
    Console.Out.Flush();
    await Task.Delay(Timeout.Infinite);
    return 0;
}

internal sealed record StampedeResult(Dictionary<string, int> Values, double MaxLatencyMs, double MeanLatencyMs, string[] Errors);
