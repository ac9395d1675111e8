using Packages.Upstream;

namespace Packages.Tests.Upstream;

/// <summary>One in-process simulator on a free loopback port plus a client pointed at it; each test gets its own,
/// so stats and faults never leak between tests.</summary>
internal sealed class UpstreamHarness : IAsyncDisposable
{
    private UpstreamHarness(RunningUpstream server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public RunningUpstream Server { get; }

    public HttpClient Http { get; }

    /// <param name="delayScale">0 by default: most tests care about answers, not latency.</param>
    public static async Task<UpstreamHarness> StartAsync(double delayScale = 0, int? seed = null, TimeProvider? time = null)
    {
        var options = new UpstreamOptions { DelayScale = delayScale, Seed = seed };
        var server = await UpstreamServer.StartAsync(options, time ?? TimeProvider.System, CancellationToken.None);
        return new UpstreamHarness(server);
    }

    public async Task<string> GetStringAsync(string path) => await Http.GetStringAsync(new Uri(path, UriKind.Relative));

    public async Task<HttpResponseMessage> GetAsync(string path) => await Http.GetAsync(new Uri(path, UriKind.Relative));

    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        return await Http.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    public async Task SetFaultAsync(string json)
    {
        using var response = await PostJsonAsync("faults", json);
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
