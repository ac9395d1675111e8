using Packages.Upstream;

namespace Packages.Web.Upstream;

/// <summary>Runs the bug-tracker simulator inside the web app when no <c>Upstream:Url</c> is configured.</summary>
internal sealed partial class EmbeddedUpstream(UpstreamLocation location, UpstreamOptions options, ILogger<EmbeddedUpstream> logger) : IHostedService, IAsyncDisposable
{
    private RunningUpstream? _running;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _running = await UpstreamServer.StartAsync(options, cancellationToken);
        }
        catch (Exception ex)
        {
            location.Fail(new UpstreamException("the embedded bug tracker simulator failed to start", ex));
            throw;
        }

        location.Set(_running.BaseAddress);
        LogStarted(logger, _running.BaseAddress, options.DelayScale);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        var running = Interlocked.Exchange(ref _running, null);
        if (running is not null)
        {
            await running.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Embedded bug tracker simulator listening on {Address} (delay scale {DelayScale})")]
    private static partial void LogStarted(ILogger logger, Uri address, double delayScale);
}
