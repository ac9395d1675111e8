using System.Text;
using Dogpile.Redis.Internal;

namespace Dogpile.Redis.Tests;

/// <summary>The lock-released message: a length-prefixed key, then optionally the written entry's bytes.</summary>
public sealed class ReleaseNoticeTests
{
    [Theory]
    [InlineData("k")]
    [InlineData("12:34:with:colons")]
    [InlineData("clé-ünïcødé-🔑")]
    public void HeadAndEntry_RoundTrip(string key)
    {
        byte[] entry = new CacheEntry(new ReadOnlyMemory<byte>("v"u8.ToArray()), 638_000_000_000_000_000, TimeSpan.FromMinutes(1), TimeSpan.Zero).ToBytes();
        byte[] message = [.. ReleaseNotice.Head(key), .. entry];

        Assert.Equal(key, ReleaseNotice.Read(message, out ReadOnlyMemory<byte> carried));
        Assert.Equal(entry, carried.ToArray());
        Assert.Equal(key, ReleaseNotice.Read(ReleaseNotice.Head(key), out ReadOnlyMemory<byte> none));
        Assert.True(none.IsEmpty);
    }

    [Theory]
    [InlineData("plain-key")] // no head at all
    [InlineData("99:short")] // a length past the end
    [InlineData(":k")] // no digits
    public void MessageWithoutAValidHead_IsTakenAsTheKeyAlone(string message)
    {
        Assert.Equal(message, ReleaseNotice.Read(Encoding.UTF8.GetBytes(message), out ReadOnlyMemory<byte> carried));
        Assert.True(carried.IsEmpty);
    }
}
