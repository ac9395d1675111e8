using Microsoft.Extensions.Time.Testing;
using Packages.Upstream;

namespace Packages.Tests.Upstream;

public sealed class LatencyTests
{
    [Theory]
    [InlineData(1500, 1.0, 3000)]
    [InlineData(0, 1.0, 100)]
    [InlineData(750, 1.0, 1550)]
    [InlineData(1500, 0.01, 30)]
    [InlineData(1500, 0.0, 0)]
    public void LatencyModel_GrowsLinearlyWithBugCount_TimesScale(int bugs, double scale, double expectedMs)
    {
        Assert.Equal(expectedMs, LatencyModel.For(bugs, 1500, scale).TotalMilliseconds, precision: 6);
    }

    [Fact]
    public async Task Kernel_AnswersOnlyAfterThreeSecondsOfItsClock()
    {
        var time = new FakeTimeProvider();
        await using var upstream = await UpstreamHarness.StartAsync(delayScale: 1.0, time: time);

        var request = upstream.GetStringAsync("bugs/kernel");
        await StatsTests.WaitUntilCountedAsync(upstream, "kernel", 1);

        time.Advance(TimeSpan.FromMilliseconds(2900));
        await Task.WhenAny(request, Task.Delay(TimeSpan.FromMilliseconds(200)));
        Assert.False(request.IsCompleted, "kernel answered before 3 s had passed on its clock");

        // The handler may register its timer a moment after the counter bumps; keep nudging the clock until it fires.
        for (var i = 0; i < 100 && !request.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(request, Task.Delay(TimeSpan.FromMilliseconds(20)));
        }

        Assert.Contains("\"package\":\"kernel\"", await request);
    }
}
