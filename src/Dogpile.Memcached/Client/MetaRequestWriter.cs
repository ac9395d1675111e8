using System.Buffers;
using System.Globalization;
using System.Text;

namespace Dogpile.Memcached.Client;

/// <summary>Writes meta-protocol command text. Keys arrive already validated and encoded.</summary>
internal static class MetaRequestWriter
{
    public static void Write(this IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes) => writer.Write<byte>(bytes);

    public static void WriteAscii(this IBufferWriter<byte> writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        var written = Encoding.ASCII.GetBytes(text, span);
        writer.Advance(written);
    }

    /// <summary>Writes a flag token with a leading space, e.g. <c> T60</c>.</summary>
    public static void WriteFlag(this IBufferWriter<byte> writer, char flag, ulong value)
    {
        var span = writer.GetSpan(22);
        span[0] = (byte)' ';
        span[1] = (byte)flag;
        _ = value.TryFormat(span[2..], out var written, default, CultureInfo.InvariantCulture);
        writer.Advance(2 + written);
    }

    /// <summary>Writes a flag token whose value may be negative (only TTLs).</summary>
    public static void WriteFlag(this IBufferWriter<byte> writer, char flag, long value)
    {
        var span = writer.GetSpan(22);
        span[0] = (byte)' ';
        span[1] = (byte)flag;
        _ = value.TryFormat(span[2..], out var written, default, CultureInfo.InvariantCulture);
        writer.Advance(2 + written);
    }

    public static void WriteFlag(this IBufferWriter<byte> writer, char flag)
    {
        var span = writer.GetSpan(2);
        span[0] = (byte)' ';
        span[1] = (byte)flag;
        writer.Advance(2);
    }

    public static void WriteNumber(this IBufferWriter<byte> writer, long value)
    {
        var span = writer.GetSpan(20);
        _ = value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        writer.Advance(written);
    }

    public static void WriteCommand(this IBufferWriter<byte> writer, ReadOnlySpan<byte> command, ReadOnlySpan<byte> key)
    {
        writer.Write(command);
        writer.Write(" "u8);
        writer.Write(key);
    }

    public static void WriteEndOfLine(this IBufferWriter<byte> writer) => writer.Write("\r\n"u8);
}
