// A program outside the Dogpile repository that uses the packed packages as a user would. It prints one "ok ..." line
// per check and exits with 1 at the first failure. Arguments: the redis-server endpoint, the memcached endpoint.
using System.Reflection;
using Dogpile;
using Dogpile.Memcached;
using Microsoft.Extensions.DependencyInjection;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Sample <redis host:port> <memcached host:port>");
    return 2;
}

string redisEndpoint = args[0];
string memcachedEndpoint = args[1];
string runId = Guid.NewGuid().ToString("N");
Console.WriteLine($"version {typeof(CacheRegion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");

// Memory (the default backend): three reads, one creation.
await using (var memory = new CacheRegion(new CacheRegionOptions { Name = "memory", Expiration = TimeSpan.FromMinutes(1) }))
{
    int creations = 0;
    for (int i = 0; i < 3; i++)
    {
        string value = await memory.GetOrCreateAsync("answer", _ => { creations++; return ValueTask.FromResult("42"); });
        Check(value == "42", $"memory: read {value}");
    }

    Check(creations == 1, $"memory: {creations} creations for three reads");
}

Console.WriteLine("ok memory");

// Redis through DI: the value one service provider created is read by a second one (another process, as far as Redis
// knows) without creating it again.
string redisKey = "answer-" + runId;
for (int provider = 1; provider <= 2; provider++)
{
    var services = new ServiceCollection();
    services.AddDogpile()
        .AddRegion("redis", o => o.Expiration = TimeSpan.FromMinutes(1))
        .AddRedis(o => { o.ConnectionString = redisEndpoint; o.KeyPrefix = "packaging"; }, useRefreshQueue: false);
    await using ServiceProvider serviceProvider = services.BuildServiceProvider();
    CacheRegion redis = serviceProvider.GetRequiredKeyedService<CacheRegion>("redis");
    int creations = 0;
    string value = await redis.GetOrCreateAsync(redisKey, _ => { creations++; return ValueTask.FromResult($"created by provider {provider}"); });
    Check(value == "created by provider 1", $"redis, provider {provider}: read '{value}'");
    Check(creations == (provider == 1 ? 1 : 0), $"redis, provider {provider}: {creations} creations");
}

Console.WriteLine("ok redis");

// memcached without DI: the same, with two backends (two clients).
string memcachedKey = "answer-" + runId;
for (int client = 1; client <= 2; client++)
{
    var options = new DogpileMemcachedOptions();
    options.Client.Servers.Add(memcachedEndpoint);
    using var memcached = new DogpileMemcached(options);
    var regionOptions = new CacheRegionOptions { Name = "memcached", KeyPrefix = "packaging:", Expiration = TimeSpan.FromMinutes(1) };
    memcached.ApplyTo(regionOptions);
    await using var region = new CacheRegion(regionOptions);
    int creations = 0;
    string value = await region.GetOrCreateAsync(memcachedKey, _ => { creations++; return ValueTask.FromResult($"created by client {client}"); });
    Check(value == "created by client 1", $"memcached, client {client}: read '{value}'");
    Check(creations == (client == 1 ? 1 : 0), $"memcached, client {client}: {creations} creations");
}

Console.WriteLine("ok memcached");
return 0;

static void Check(bool condition, string what)
{
    if (!condition)
    {
        Console.Error.WriteLine($"FAILED {what}");
        Environment.Exit(1);
    }
}
