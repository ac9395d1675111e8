using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dogpile;
using Dogpile.Memcached;

// Usage: dotnet Dogpile.Memcached.StampedeClient.dll <server> <key> <callers> <start-at-unix-ms>
// Every caller asks the region for <key> at the start time. The creator counts itself in memcached (ma <key>:creations),
// then takes ~200 ms, so every other caller in every process arrives while it runs.
if (args.Length != 4
    || !int.TryParse(args[2], CultureInfo.InvariantCulture, out int callers)
    || !long.TryParse(args[3], CultureInfo.InvariantCulture, out long startAtUnixMs))
{
    await Console.Error.WriteLineAsync("usage: Dogpile.Memcached.StampedeClient <server> <key> <callers> <start-at-unix-ms>");
    return 2;
}

string server = args[0], key = args[1];
var clientOptions = new MemcachedClientOptions
{
    Servers = { server },
    PoolWaitTimeout = TimeSpan.FromSeconds(30),
    RequestTimeout = TimeSpan.FromSeconds(10),
};
using var backend = new MemcachedCacheBackend(clientOptions);
var locks = new MemcachedLockProvider(backend, new MemcachedLockOptions { Lease = TimeSpan.FromSeconds(30) });
await using var region = new CacheRegion(new CacheRegionOptions
{
    Name = "stampede",
    Backend = backend,
    LockProvider = locks,
    LockTimeout = TimeSpan.FromSeconds(30),
    Expiration = TimeSpan.FromMinutes(5),
});

int pid = Environment.ProcessId;
int creatorCalls = 0;
async ValueTask<string> CreateAsync(CancellationToken cancellationToken)
{
    Interlocked.Increment(ref creatorCalls);
    _ = await backend.Client.IncrementAsync(key + ":creations", 1, initialValue: 1, TimeSpan.FromMinutes(5), cancellationToken);
    await Task.Delay(200, cancellationToken);
    return $"created-by-{pid}";
}

// Warm up before the start: sockets, JIT, the region's paths (on another key), so the start is the stampede itself.
await backend.Client.NoopAsync();
_ = await region.GetOrCreateAsync($"{key}:warmup:{pid}", _ => new ValueTask<string>("warm"));

// An awaited gate, not a blocking one: 100 threads parked on an event would starve the pool and smear the start.
var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
Task<string>[] tasks = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
{
    await gate.Task;
    return await region.GetOrCreateAsync(key, CreateAsync);
})).ToArray();

long readyAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
TimeSpan wait = TimeSpan.FromMilliseconds(startAtUnixMs - readyAtUnixMs);
if (wait > TimeSpan.Zero)
{
    await Task.Delay(wait);
}

long startedAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
var watch = Stopwatch.StartNew();
gate.SetResult();
var values = new List<string>();
var errors = new List<string>();
foreach (Task<string> task in tasks)
{
    try
    {
        values.Add(await task);
    }
#pragma warning disable CA1031 // Report every failure to the test instead of dying on the first.
    catch (Exception ex)
#pragma warning restore CA1031
    {
        errors.Add($"{ex.GetType().Name}: {ex.Message}");
    }
}

Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["pid"] = pid,
    ["callers"] = callers,
    ["readyBeforeStartMs"] = startAtUnixMs - readyAtUnixMs,
    ["startLagMs"] = startedAtUnixMs - startAtUnixMs,
    ["elapsedMs"] = watch.ElapsedMilliseconds,
    ["creatorCalls"] = creatorCalls,
    ["values"] = values.Distinct().ToArray(),
    ["errors"] = errors.Distinct().ToArray(),
}));
return 0;
