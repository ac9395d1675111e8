using System.Buffers;
using System.Text;

namespace Dogpile.Tests.Serialization;

/// <summary>The default serializer reads one- and many-segment payloads alike, and no more than one JSON value.</summary>
public sealed class SystemTextJsonCacheSerializerTests
{
    private sealed record Poco(string Name, int Count, long[] Numbers);

    private static readonly Poco Sample = new("kernel", 3, [1, 2, 3]);

    [Fact]
    public void OneSegment_AndManySegments_ReadTheSameValue()
    {
        byte[] json = Serialize(Sample);

        Poco fromOne = SystemTextJsonCacheSerializer.Default.Deserialize<Poco>(new ReadOnlySequence<byte>(json));
        Poco fromMany = SystemTextJsonCacheSerializer.Default.Deserialize<Poco>(Split(json, 3));

        Assert.Equal(Sample.Name, fromOne.Name);
        Assert.Equal(Sample.Numbers, fromOne.Numbers);
        Assert.Equal(Sample.Name, fromMany.Name);
        Assert.Equal(Sample.Numbers, fromMany.Numbers);
    }

    [Theory]
    [InlineData(" \n")]
    [InlineData("\t")]
    public void TrailingWhitespace_IsAccepted(string trailing)
    {
        byte[] json = [.. Serialize(Sample), .. Encoding.UTF8.GetBytes(trailing)];

        Assert.Equal("kernel", SystemTextJsonCacheSerializer.Default.Deserialize<Poco>(new ReadOnlySequence<byte>(json)).Name);
        Assert.Equal("kernel", SystemTextJsonCacheSerializer.Default.Deserialize<Poco>(Split(json, 4)).Name);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("x")]
    [InlineData(" 1")]
    public void ContentAfterTheValue_IsUnreadable_InEveryShape(string trailing)
    {
        byte[] json = [.. Serialize(Sample), .. Encoding.UTF8.GetBytes(trailing)];

        Assert.Throws<CacheSerializationException>(() => SystemTextJsonCacheSerializer.Default.Deserialize<Poco>(new ReadOnlySequence<byte>(json)));
        Assert.Throws<CacheSerializationException>(() => SystemTextJsonCacheSerializer.Default.Deserialize<Poco>(Split(json, 4)));
    }

    private static byte[] Serialize<T>(T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SystemTextJsonCacheSerializer.Default.Serialize(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static ReadOnlySequence<byte> Split(byte[] data, int segmentLength)
    {
        Segment first = new(data.AsMemory(0, Math.Min(segmentLength, data.Length)), 0);
        Segment last = first;
        for (int offset = segmentLength; offset < data.Length; offset += segmentLength)
        {
            last = last.Append(data.AsMemory(offset, Math.Min(segmentLength, data.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
