using Dogpile.Testing;

namespace Dogpile.Cli.Tests;

/// <summary>A real redis-server for a test class (the shared launcher: a free loopback port, no persistence).</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private readonly ServerProcess _server = ServerProcess.Redis();

    public string Endpoint => _server.Endpoint;

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DisposeAsync().AsTask();
}

/// <summary>A real memcached for a test class.</summary>
public sealed class MemcachedFixture : IAsyncLifetime
{
    private readonly ServerProcess _server = ServerProcess.Memcached();

    public string Endpoint => _server.Endpoint;

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DisposeAsync().AsTask();
}
