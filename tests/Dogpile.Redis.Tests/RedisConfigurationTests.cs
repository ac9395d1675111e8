using Dogpile.Redis.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dogpile.Redis.Tests;

/// <summary>AddRedis and the worker bound from configuration, checked when the host starts.</summary>
public sealed class RedisConfigurationTests(RedisServer server) : IClassFixture<RedisServer>
{
    private static IConfiguration Config(params (string Key, string Value)[] values)
        => new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static IHost Host(Action<IDogpileBuilder> configure)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder.Services.AddDogpile());
        return builder.Build();
    }

    [Fact]
    public async Task AddRedis_FromConfiguration_BindsEveryOptionAndWorkerSettings()
    {
        string prefix = TestRedis.NewPrefix();
        IConfiguration config = Config(
            ("Dogpile:Redis:ConnectionString", server.ConnectionString),
            ("Dogpile:Redis:KeyPrefix", prefix),
            ("Dogpile:Redis:LockLease", "00:00:20"),
            ("Dogpile:Worker:MaxConcurrency", "3"),
            ("Dogpile:Worker:JobTimeout", "00:00:45"));
        using IHost host = Host(d => d
            .AddRegion("bugs")
            .AddRedis(config.GetSection("Dogpile:Redis"))
            .AddRedisRefreshWorker(config.GetSection("Dogpile:Worker")));

        await host.StartAsync();
        try
        {
            DogpileRedis redis = host.Services.GetRequiredService<DogpileRedis>();
            RedisRefreshWorkerOptions worker = host.Services.GetRequiredService<IOptions<RedisRefreshWorkerOptions>>().Value;
            CacheRegion bugs = host.Services.GetRequiredKeyedService<CacheRegion>("bugs");

            Assert.Equal(prefix, redis.Options.KeyPrefix);
            Assert.Equal(TimeSpan.FromSeconds(20), redis.Options.LockLease);
            Assert.Equal(3, worker.MaxConcurrency);
            Assert.Equal(TimeSpan.FromSeconds(45), worker.JobTimeout);
            Assert.Same(redis.Backend, bugs.Backend);
            Assert.Equal("v", await bugs.GetOrCreateAsync("k", _ => ValueTask.FromResult("v")));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Start_RedisAndWorkerSectionsWithTyposAndBadValues_FailsListingEveryProblem()
    {
        IConfiguration config = Config(
            ("Dogpile:Redis:ConectionString", "localhost:6379"),
            ("Dogpile:Redis:LockLease", "00:00:00"),
            ("Dogpile:Worker:MaxConcurency", "3"),
            ("Dogpile:Worker:MaxAttempts", "0"));
        using IHost host = Host(d => d
            .AddRedis(config.GetSection("Dogpile:Redis"))
            .AddRedisRefreshWorker(config.GetSection("Dogpile:Worker")));

        var ex = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync());
        string message = string.Join("\n", ex.InnerExceptions.Select(e => e.Message));

        Assert.Contains("'Dogpile:Redis:ConectionString' is not an option of DogpileRedisOptions", message, StringComparison.Ordinal);
        Assert.Contains("DogpileRedisOptions needs exactly one of ConnectionString, Configuration or Multiplexer", message, StringComparison.Ordinal);
        Assert.Contains("DogpileRedisOptions.LockLease must be positive", message, StringComparison.Ordinal);
        Assert.Contains("'Dogpile:Worker:MaxConcurency' is not an option of RedisRefreshWorkerOptions", message, StringComparison.Ordinal);
        Assert.Contains("RedisRefreshWorkerOptions.MaxAttempts must be at least 1", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_OneExceptionListsThemAll()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DogpileRedis(new DogpileRedisOptions
        {
            ConnectionString = "x", MaxValueBytes = 0, OperationTimeout = TimeSpan.Zero, QueueName = "{q}",
        }));

        Assert.StartsWith("3 problems:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DogpileRedisOptions.QueueName", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DogpileRedisOptions.MaxValueBytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DogpileRedisOptions.OperationTimeout", ex.Message, StringComparison.Ordinal);
    }
}
