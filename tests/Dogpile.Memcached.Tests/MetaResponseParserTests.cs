using System.Text;
using Dogpile.Memcached.Client;

namespace Dogpile.Memcached.Tests;

public sealed class MetaResponseParserTests
{
    private const int MaxItemSize = 1024;

    private static readonly string[] ValidReplies =
    [
        "VA 3 f5 c12 t-1 kfoo O7\r\nbar\r\n",
        "VA 0\r\n\r\n",
        "VA 5 s5\r\na\r\nbc\r\n",
        "HD\r\n",
        "HD c99\r\n",
        "NS\r\n",
        "EX\r\n",
        "NF\r\n",
        "EN\r\n",
        "MN\r\n",
        "ERROR\r\n",
        "CLIENT_ERROR bad command line format\r\n",
        "SERVER_ERROR out of memory storing object\r\n",
    ];

    private static MetaResponse ParseComplete(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.True(MetaResponseParser.TryParse(bytes, MaxItemSize, out var response, out var consumed));
        Assert.Equal(bytes.Length, consumed);
        return response;
    }

    [Fact]
    public void TryParse_ValueWithFlags_ReturnsValueAndEveryFlag()
    {
        var response = ParseComplete("VA 3 f5 c12 t-1 kfoo O7\r\nbar\r\n");

        Assert.Equal(MetaStatus.Value, response.Status);
        Assert.Equal("bar"u8.ToArray(), response.Value);
        Assert.Equal(5u, response.ClientFlags);
        Assert.Equal(12ul, response.Cas);
        Assert.Equal(-1, response.Ttl);
        Assert.Equal("foo", response.Key);
        Assert.Equal(7u, response.Opaque);
    }

    [Fact]
    public void TryParse_ValueContainingCrlf_UsesSizeNotLineEnds()
    {
        var response = ParseComplete("VA 5 s5\r\na\r\nbc\r\n");
        Assert.Equal("a\r\nbc"u8.ToArray(), response.Value);
    }

    [Theory]
    [InlineData("HD\r\n", "Success")]
    [InlineData("HD c99\r\n", "Success")]
    [InlineData("NS\r\n", "NotStored")]
    [InlineData("EX\r\n", "Exists")]
    [InlineData("NF\r\n", "NotFound")]
    [InlineData("EN\r\n", "Miss")]
    [InlineData("MN\r\n", "NoOp")]
    [InlineData("ERROR\r\n", "Error")]
    [InlineData("CLIENT_ERROR bad data chunk\r\n", "ClientError")]
    [InlineData("SERVER_ERROR object too large for cache\r\n", "ServerError")]
    public void TryParse_StatusLine_ReturnsStatus(string text, string expected)
    {
        Assert.Equal(Enum.Parse<MetaStatus>(expected), ParseComplete(text).Status);
    }

    [Fact]
    public void TryParse_ErrorLines_KeepTheMessage()
    {
        Assert.Equal("object too large for cache", ParseComplete("SERVER_ERROR object too large for cache\r\n").ErrorMessage);
    }

    [Theory]
    [InlineData("HELLO\r\n")]
    [InlineData("hd\r\n")]
    [InlineData("HD\n")]
    [InlineData("HD\r\r\n")]
    [InlineData("\r\n")]
    [InlineData("VA\r\n")]
    [InlineData("VA -1\r\n")]
    [InlineData("VA +3\r\nabc\r\n")]
    [InlineData("VA 1025\r\n")]
    [InlineData("VA 99999999999999999999999\r\n")]
    [InlineData("VA 3x\r\nabc\r\n")]
    [InlineData("VA 3\r\nabcd\r\n")]
    [InlineData("VA 3\r\nabc\n\n")]
    [InlineData("VA 3 f-1\r\nabc\r\n")]
    [InlineData("VA 3 c1.5\r\nabc\r\n")]
    [InlineData("VA 3 t-2\r\nabc\r\n")]
    [InlineData("VA 3  f1\r\nabc\r\n")]
    [InlineData("VA 3 1\r\nabc\r\n")]
    [InlineData("HD O\r\n")]
    [InlineData("HD \r\n")]
    [InlineData("EN c1\r\n")]
    [InlineData("MN 1\r\n")]
    [InlineData("HD\0\r\n")]
    [InlineData("XYZ")]
    [InlineData("H\n")]
    public void TryParse_Garbage_ThrowsProtocolException(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Throws<MemcachedProtocolException>(() => MetaResponseParser.TryParse(bytes, MaxItemSize, out _, out _));
    }

    [Fact]
    public void TryParse_EndlessLineWithoutNewline_ThrowsInsteadOfBufferingForever()
    {
        var bytes = Encoding.ASCII.GetBytes("HD " + new string('x', MetaResponseParser.MaxLineLength + 10));
        Assert.Throws<MemcachedProtocolException>(() => MetaResponseParser.TryParse(bytes, MaxItemSize, out _, out _));
    }

    [Fact]
    public void TryParse_EveryTruncationOfValidReplies_AsksForMoreData()
    {
        foreach (var reply in ValidReplies)
        {
            var bytes = Encoding.UTF8.GetBytes(reply);
            for (var length = 0; length < bytes.Length; length++)
            {
                Assert.False(MetaResponseParser.TryParse(bytes.AsSpan(0, length), MaxItemSize, out _, out var consumed), $"'{reply}' cut at {length}");
                Assert.Equal(0, consumed);
            }
        }
    }

    [Fact]
    public void TryParse_ConcatenatedRepliesFedInRandomChunks_ParsesEachExactlyOnce()
    {
        var random = new Random(1234);
        for (var round = 0; round < 500; round++)
        {
            var expected = Enumerable.Range(0, random.Next(1, 20)).Select(_ => ValidReplies[random.Next(ValidReplies.Length)]).ToList();
            var stream = Encoding.UTF8.GetBytes(string.Concat(expected));
            var buffer = new List<byte>();
            var parsed = new List<MetaResponse>();
            var position = 0;
            while (position < stream.Length || buffer.Count > 0)
            {
                var chunk = Math.Min(random.Next(1, 16), stream.Length - position);
                buffer.AddRange(stream.AsSpan(position, chunk).ToArray());
                position += chunk;
                while (buffer.Count > 0 && MetaResponseParser.TryParse(buffer.ToArray(), MaxItemSize, out var response, out var consumed))
                {
                    Assert.InRange(consumed, 1, buffer.Count);
                    parsed.Add(response);
                    buffer.RemoveRange(0, consumed);
                }

                if (position == stream.Length)
                {
                    Assert.Empty(buffer);
                    break;
                }
            }

            Assert.Equal(expected.Count, parsed.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(ParseComplete(expected[i]).ToString(), parsed[i].ToString());
            }
        }
    }

    [Fact]
    public void TryParse_RandomBytes_ParsesAsksForMoreOrThrowsProtocolExceptionOnly()
    {
        var random = new Random(42);
        var alphabet = "VAHDNSEXFMNROCLIT_ 0123456789-fctkOsv\r\n\0\xff"u8.ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                // Bytes drawn from the protocol's own alphabet reach much deeper into the parser than pure noise.
                for (var j = 0; j < bytes.Length; j++)
                {
                    bytes[j] = alphabet[random.Next(alphabet.Length)];
                }
            }

            AssertParsesSafely(bytes);
        }
    }

    [Fact]
    public void TryParse_MutatedValidReplies_ParsesAsksForMoreOrThrowsProtocolExceptionOnly()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(ValidReplies[random.Next(ValidReplies.Length)]);
            var mutations = random.Next(1, 4);
            for (var m = 0; m < mutations; m++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            AssertParsesSafely(bytes);
        }
    }

    private static void AssertParsesSafely(byte[] bytes)
    {
        try
        {
            if (MetaResponseParser.TryParse(bytes, MaxItemSize, out var response, out var consumed))
            {
                Assert.NotNull(response);
                Assert.InRange(consumed, 1, bytes.Length);
                Assert.True(response.Value is null || response.Value.Length <= MaxItemSize);
            }
            else
            {
                Assert.Equal(0, consumed);
            }
        }
        catch (MemcachedProtocolException)
        {
            // Rejected cleanly: that is an allowed outcome.
        }
    }
}
