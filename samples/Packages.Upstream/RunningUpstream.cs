namespace Packages.Upstream;

/// <summary>A simulator started in-process by <see cref="UpstreamServer.StartAsync"/>; dispose it to stop it.</summary>
public sealed class RunningUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningUpstream(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:40213/</c>; the trailing slash lets relative URIs like <c>bugs/kernel</c> combine.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Stops listening, letting in-flight requests finish within the host's shutdown timeout, then frees the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
