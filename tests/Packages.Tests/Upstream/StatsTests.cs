using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace Packages.Tests.Upstream;

public sealed class StatsTests
{
    [Fact]
    public async Task Stats_CountsBugCallsPerPackage()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        await upstream.GetStringAsync("bugs/kernel");
        await upstream.GetStringAsync("bugs/kernel");
        await upstream.GetStringAsync("bugs/bash");
        await upstream.GetStringAsync("packages"); // only /bugs is what a cache should spare the tracker

        Assert.Equal("""{"total":3,"calls":{"bash":1,"kernel":2}}""", await upstream.GetStringAsync("stats"));
    }

    [Fact]
    public async Task Stats_ConcurrentCalls_AreAllCounted()
    {
        await using var upstream = await UpstreamHarness.StartAsync();

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => upstream.GetStringAsync("bugs/firefox")));

        Assert.Equal("""{"total":50,"calls":{"firefox":50}}""", await upstream.GetStringAsync("stats"));
    }

    [Fact]
    public async Task StatsReset_ClearsAllCounts()
    {
        await using var upstream = await UpstreamHarness.StartAsync();
        await upstream.GetStringAsync("bugs/kernel");

        using var reset = await upstream.PostJsonAsync("stats/reset", "");
        reset.EnsureSuccessStatusCode();

        Assert.Equal("""{"total":0,"calls":{}}""", await upstream.GetStringAsync("stats"));
        await upstream.GetStringAsync("bugs/gcc");
        Assert.Equal("""{"total":1,"calls":{"gcc":1}}""", await upstream.GetStringAsync("stats"));
    }

    [Fact]
    public async Task Stats_CountsACallWhenItArrives_NotWhenItAnswers()
    {
        // The clock never moves, so the kernel request stays parked in its delay for the whole test.
        var time = new FakeTimeProvider();
        await using var upstream = await UpstreamHarness.StartAsync(delayScale: 1.0, time: time);
        using var cancel = new CancellationTokenSource();

        var pending = upstream.Http.GetAsync(new Uri("bugs/kernel", UriKind.Relative), cancel.Token);
        await WaitUntilCountedAsync(upstream, "kernel", 1);

        Assert.False(pending.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
    }

    /// <summary>Polls /stats (real time, bounded) until <paramref name="package"/> has <paramref name="calls"/> calls.</summary>
    internal static async Task WaitUntilCountedAsync(UpstreamHarness upstream, string package, long calls)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            using var doc = JsonDocument.Parse(await upstream.GetStringAsync("stats"));
            if (doc.RootElement.GetProperty("calls").TryGetProperty(package, out var count) && count.GetInt64() >= calls)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25));
        }

        Assert.Fail($"{package} never reached {calls} calls in /stats");
    }
}
