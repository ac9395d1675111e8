using System.Diagnostics;

namespace Packages.Tests.Upstream;

/// <summary>
/// Wall-clock comparisons are only meaningful when nothing else competes for the CPU: on a loaded 2-core box
/// a 50 ms request racing 300 parallel test requests can take longer than kernel's deliberate delay.
/// </summary>
[CollectionDefinition(nameof(RealClockLatencyTests), DisableParallelization = true)]
public sealed class RealClockTestGroup;

[Collection(nameof(RealClockLatencyTests))]
public sealed class RealClockLatencyTests
{
    [Fact]
    public async Task Kernel_IsSlowerThanASmallPackage()
    {
        // At this scale kernel is due after 1.5 s and a one-bug package after ~50 ms. The bounds are loose on
        // purpose: a timer never fires early, and the best of three small calls shrugs off a scheduling hiccup.
        await using var upstream = await UpstreamHarness.StartAsync(delayScale: 0.5);
        await upstream.GetStringAsync("packages"); // warm up the connection and JIT so neither timing pays for it

        var small = TimeSpan.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var elapsed = await TimeAsync(() => upstream.GetStringAsync("bugs/golang-github-spf13-cobra"));
            small = elapsed < small ? elapsed : small;
        }

        var kernel = await TimeAsync(() => upstream.GetStringAsync("bugs/kernel"));

        Assert.True(kernel >= TimeSpan.FromMilliseconds(1400), $"kernel took {kernel}");
        Assert.True(kernel > small * 2, $"kernel {kernel} vs small {small}");
    }

    [Fact]
    public async Task SlowFault_AddsTheRequestedDelay()
    {
        // No base latency at scale 0, so the time measured is the fault's.
        await using var upstream = await UpstreamHarness.StartAsync(delayScale: 0);
        await upstream.SetFaultAsync("""{"mode": "slow", "delayMs": 300}""");

        var elapsed = await TimeAsync(() => upstream.GetStringAsync("bugs/bash"));

        Assert.True(elapsed >= TimeSpan.FromMilliseconds(290), $"took {elapsed}");
        Assert.Equal("""{"mode":"slow","delayMs":300}""", await upstream.GetStringAsync("faults"));
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var started = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(started);
    }
}
