using Dogpile.Engine;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Engine;

/// <summary>The near cache alone: how long it trusts an entry, what survives a distrust, and the stamp that keeps reads honest.</summary>
public sealed class NearCacheTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private NearCache Create(bool hasFeed, Func<string, string?>? map = null)
        => new(new NearCacheOptions { Duration = TimeSpan.FromSeconds(1) }, TimeSpan.FromMinutes(10), hasFeed, _time, map ?? (k => k), _ => true);

    private CacheEntry Entry(string value, TimeSpan expiration) => new(value, _time.GetUtcNow().UtcTicks, expiration, TimeSpan.Zero);

    [Fact]
    public void Keep_WithoutFeed_TrustedForTheDurationOnly_ThenStillHeldForAnOutage()
    {
        NearCache near = Create(hasFeed: false);
        CacheEntry entry = Entry("v", TimeSpan.FromMinutes(5));
        near.Keep("k", entry, near.StampOf("k"));

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Same(entry, near.GetTrusted("k"));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(near.GetTrusted("k"));
        Assert.Same(entry, near.GetHeld("k"));
    }

    [Fact]
    public void Keep_WithLiveFeed_TrustedUntilTheBackendDropsTheEntry()
    {
        NearCache near = Create(hasFeed: true);
        near.OnResumed();
        CacheEntry entry = Entry("v", TimeSpan.FromMinutes(5));
        near.Keep("k", entry, near.StampOf("k"));

        // Fresh for 5 minutes, then stale within the 10-minute window: still what the backend holds.
        _time.Advance(TimeSpan.FromMinutes(14));
        Assert.Same(entry, near.GetTrusted("k"));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(near.GetTrusted("k"));
    }

    [Fact]
    public void Keep_FeedNotYetConfirmed_TrustedForTheDurationOnly()
    {
        NearCache near = Create(hasFeed: true);
        near.Keep("k", Entry("v", TimeSpan.FromMinutes(5)), near.StampOf("k"));

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(near.GetTrusted("k"));
    }

    [Fact]
    public void Keep_ANoticeArrivedDuringTheRead_TheReadValueIsNotKept()
    {
        NearCache near = Create(hasFeed: true);
        near.OnResumed();
        long stamp = near.StampOf("k");

        // The read is in flight when another process's write is announced: what it returns may predate that write.
        near.OnChanged("k", null);
        near.Keep("k", Entry("old", TimeSpan.FromMinutes(5)), stamp);

        Assert.Null(near.GetHeld("k"));
    }

    [Fact]
    public void Keep_OwnWriteDuringTheRead_TheWrittenValueStays()
    {
        NearCache near = Create(hasFeed: true);
        near.OnResumed();
        long stamp = near.StampOf("k");
        CacheEntry written = Entry("new", TimeSpan.FromMinutes(5));

        near.WriteThrough("k", written);
        near.Keep("k", Entry("old", TimeSpan.FromMinutes(5)), stamp);

        Assert.Same(written, near.GetTrusted("k"));
    }

    [Fact]
    public void OnChanged_BackendKeyMappedToTheNearKey_Evicts_OtherRegionsKeysIgnored()
    {
        NearCache near = Create(hasFeed: true, map: k => k.StartsWith("r:", StringComparison.Ordinal) ? k[2..] : null);
        near.OnResumed();
        near.Keep("k", Entry("v", TimeSpan.FromMinutes(5)), near.StampOf("k"));

        near.OnChanged("other:k", null);
        Assert.NotNull(near.GetTrusted("k"));

        near.OnChanged("r:k", null);
        Assert.Null(near.GetHeld("k"));
    }

    [Fact]
    public void OnChanged_NoticeCarriesTheEntry_ItReplacesTheHeldOne_AReadInFlightCannotUndoIt()
    {
        NearCache near = Create(hasFeed: true);
        near.OnResumed();
        near.Keep("k", Entry("v1", TimeSpan.FromMinutes(5)), near.StampOf("k"));
        long inFlight = near.StampOf("k");
        CacheEntry carried = Entry("v2", TimeSpan.FromMinutes(5));

        near.OnChanged("k", carried);
        near.Keep("k", Entry("v1, read before the notice", TimeSpan.FromMinutes(5)), inFlight);

        Assert.Same(carried, near.GetTrusted("k"));
    }

    [Fact]
    public void OnInterrupted_NothingTrusted_EntriesHeldForAnOutage_NewEntriesTrustedBriefly()
    {
        NearCache near = Create(hasFeed: true);
        near.OnResumed();
        CacheEntry entry = Entry("v", TimeSpan.FromMinutes(5));
        near.Keep("k", entry, near.StampOf("k"));
        long inFlight = near.StampOf("j");

        near.OnInterrupted();

        Assert.Null(near.GetTrusted("k"));
        Assert.Same(entry, near.GetHeld("k"));
        near.Keep("j", Entry("read before the interruption", TimeSpan.FromMinutes(5)), inFlight);
        Assert.Null(near.GetHeld("j"));

        near.Keep("n", Entry("n", TimeSpan.FromMinutes(5)), near.StampOf("n"));
        Assert.NotNull(near.GetTrusted("n"));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(near.GetTrusted("n"));
    }

    [Fact]
    public void OnResumed_WhatWasHeldBeforeIsNotTrusted()
    {
        NearCache near = Create(hasFeed: true);
        near.Keep("k", Entry("written during the outage", TimeSpan.FromMinutes(5)), near.StampOf("k"));

        near.OnResumed();

        Assert.Null(near.GetTrusted("k"));
        Assert.True(near.FeedLive);
    }
}
