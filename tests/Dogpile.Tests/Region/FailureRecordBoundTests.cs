using Dogpile.Engine;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>The per-key failure records of stale-if-error stay bounded, and records whose back-off is over are dropped.</summary>
public sealed class FailureRecordBoundTests
{
    [Fact]
    public async Task UpstreamDown_EndlessDistinctKeys_FailureRecordsStayWithinTheirBound()
    {
        await using var t = new TestRegion(o => o.RefreshFailureBackoff = TimeSpan.FromSeconds(5));
        int keys = FailureBackoff.DefaultCapacity + 2_000;
        for (int i = 0; i < keys; i++)
        {
            await Assert.ThrowsAsync<HttpRequestException>(async () =>
                await t.Region.GetOrCreateAsync<string>($"no-such-package-{i}", _ => throw new HttpRequestException("tracker unreachable")));
        }

        Assert.Equal(keys, t.Region.GetStatistics().CreationFailures);
        Assert.InRange(t.Region.FailureRecordCount, 1, FailureBackoff.DefaultCapacity);
    }

    [Fact]
    public async Task RecordsWhoseBackoffIsOver_AreDroppedAtTheNextSweep()
    {
        await using var t = new TestRegion(o =>
        {
            o.RefreshFailureBackoff = TimeSpan.FromSeconds(5);
            o.RefreshFailureMaxBackoff = TimeSpan.FromSeconds(20);
        });
        for (int i = 0; i < 100; i++)
        {
            await Assert.ThrowsAsync<HttpRequestException>(async () =>
                await t.Region.GetOrCreateAsync<string>($"k{i}", _ => throw new HttpRequestException("down")));
        }

        Assert.Equal(100, t.Region.FailureRecordCount);

        // Past every back-off, and past the sweep interval (the longest back-off): the next failure sweeps them all.
        t.Time.Advance(TimeSpan.FromSeconds(21));
        await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await t.Region.GetOrCreateAsync<string>("another", _ => throw new HttpRequestException("down")));

        Assert.Equal(1, t.Region.FailureRecordCount);
    }

    [Fact]
    public void ConsecutiveFailures_DoubleUpToTheCap_AndAQuietStreakStartsOver()
    {
        var backoff = new FailureBackoff(TimeSpan.FromSeconds(5).Ticks, TimeSpan.FromSeconds(30).Ticks);
        long now = TimeSpan.FromDays(1).Ticks;

        Assert.Equal(TimeSpan.FromSeconds(5), backoff.Failed("k", now));
        Assert.True(backoff.IsBackingOff("k", now + TimeSpan.FromSeconds(4).Ticks));
        Assert.False(backoff.IsBackingOff("k", now + TimeSpan.FromSeconds(5).Ticks));
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.Failed("k", now + TimeSpan.FromSeconds(5).Ticks));
        Assert.Equal(TimeSpan.FromSeconds(20), backoff.Failed("k", now + TimeSpan.FromSeconds(15).Ticks));
        Assert.Equal(TimeSpan.FromSeconds(30), backoff.Failed("k", now + TimeSpan.FromSeconds(35).Ticks));
        Assert.Equal(TimeSpan.FromSeconds(30), backoff.Failed("k", now + TimeSpan.FromSeconds(65).Ticks));

        // Quiet for a whole back-off after the last one ended: the streak is over.
        Assert.Equal(TimeSpan.FromSeconds(5), backoff.Failed("k", now + TimeSpan.FromSeconds(65 + 30 + 30).Ticks));
        backoff.Succeeded("k");
        Assert.Equal(0, backoff.Count);
    }
}
