using Dogpile.Engine;

namespace Dogpile.Tests.Engine;

/// <summary>An entry's lifetime: one spelling of never inside, converted at the public boundary and the envelope, saturating times.</summary>
public sealed class EntryLifetimeTests
{
    private const long Created = 638_000_000_000_000_000;

    [Fact]
    public void FromExpiration_NullAndNeverExpires_AreTheSameNever()
    {
        Assert.True(EntryLifetime.FromExpiration(null).IsNever);
        Assert.Equal(EntryLifetime.Never, EntryLifetime.FromExpiration(CacheRegionOptions.NeverExpires));
        Assert.Null(EntryLifetime.Never.ToExpiration());
    }

    [Fact]
    public void FromExpiration_Span_RoundTripsToTheSameSpan()
    {
        EntryLifetime lifetime = EntryLifetime.FromExpiration(TimeSpan.FromMinutes(5));
        Assert.False(lifetime.IsNever);
        Assert.Equal(TimeSpan.FromMinutes(5), lifetime.ToExpiration());
        Assert.Equal(Created + TimeSpan.FromMinutes(5).Ticks, lifetime.FreshUntil(Created));
    }

    [Fact]
    public void StoredTicks_NeverIsMinusOne_AndReadsBackAsNever()
    {
        Assert.Equal(-1, EntryLifetime.Never.StoredTicks);
        Assert.True(EntryLifetime.FromStoredTicks(-1).IsNever);
        Assert.Equal(TimeSpan.FromSeconds(3), EntryLifetime.FromStoredTicks(TimeSpan.FromSeconds(3).Ticks).ToExpiration());
    }

    [Fact]
    public void Never_FreshForeverAndNoBackendTtl()
    {
        Assert.Equal(long.MaxValue, EntryLifetime.Never.FreshUntil(Created));
        Assert.Null(EntryLifetime.Never.TimeToLive(TimeSpan.FromMinutes(10).Ticks));
        Assert.Equal(long.MaxValue, EntryLifetime.Never.DropAt(Created, TimeSpan.FromMinutes(10).Ticks));
    }

    [Fact]
    public void HugeSpan_SaturatesInsteadOfWrapping()
    {
        EntryLifetime huge = EntryLifetime.FromExpiration(TimeSpan.MaxValue - TimeSpan.FromTicks(1));
        Assert.Equal(long.MaxValue, huge.FreshUntil(Created));
        Assert.Equal(TimeSpan.MaxValue, huge.TimeToLive(TimeSpan.FromMinutes(10).Ticks));
        Assert.Equal(long.MaxValue, huge.DropAt(Created, TimeSpan.FromMinutes(10).Ticks));
    }

    [Fact]
    public void TimeToLive_IsLifetimePlusStaleWindow()
    {
        EntryLifetime lifetime = EntryLifetime.FromExpiration(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(15), lifetime.TimeToLive(TimeSpan.FromMinutes(10).Ticks));
        Assert.Equal(Created + TimeSpan.FromMinutes(15).Ticks, lifetime.DropAt(Created, TimeSpan.FromMinutes(10).Ticks));
    }

    [Fact]
    public void CacheEntry_NeverRoundTripsThroughTheEnvelope()
    {
        var entry = new CacheEntry(new byte[] { 1, 2 }.AsMemory(), Created, expiration: null, TimeSpan.Zero);
        CacheEntry read = CacheEntry.FromBytes(entry.ToBytes());
        Assert.Null(read.Expiration);
        Assert.True(read.Lifetime.IsNever);
        Assert.Equal(long.MaxValue, read.FreshUntilUtcTicks);
    }
}
