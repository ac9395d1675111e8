using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Dogpile.Memcached.Client;

/// <summary>
/// Strict, incremental parser of meta-protocol replies. It never trusts the peer: every line must end in CRLF,
/// sizes are capped, only known status codes and well-formed flags are accepted, and it never consumes a byte
/// past the reply it returns.
/// </summary>
internal static class MetaResponseParser
{
    /// <summary>
    /// The longest reply line accepted. Real lines are a status, a 250-byte key and a few numeric flags; a longer
    /// "line" is garbage, and capping it stops a broken peer from making us buffer without bound.
    /// </summary>
    internal const int MaxLineLength = 2048;

    private static readonly byte[][] KnownPrefixes =
    [
        "VA "u8.ToArray(), "HD"u8.ToArray(), "NS"u8.ToArray(), "EX"u8.ToArray(), "NF"u8.ToArray(),
        "EN"u8.ToArray(), "MN"u8.ToArray(), "ERROR"u8.ToArray(), "CLIENT_ERROR"u8.ToArray(), "SERVER_ERROR"u8.ToArray(),
    ];

    /// <summary>
    /// Parses one reply from the start of <paramref name="buffer"/>.
    /// </summary>
    /// <returns>
    /// True with the reply and the exact number of bytes it used; false when the buffer holds only the beginning of
    /// a valid reply (read more and call again with the same start).
    /// </returns>
    /// <exception cref="MemcachedProtocolException">The bytes cannot be the beginning of a valid reply.</exception>
    public static bool TryParse(ReadOnlySpan<byte> buffer, int maxValueSize, [NotNullWhen(true)] out MetaResponse? response, out int consumed)
    {
        response = null;
        consumed = 0;

        var newline = buffer.IndexOf((byte)'\n');
        if (newline < 0)
        {
            // Fail on garbage now rather than waiting for a newline that may never come (and timing out instead).
            ValidatePartialLine(buffer);
            return false;
        }

        if (newline == 0 || buffer[newline - 1] != (byte)'\r')
        {
            throw Invalid("a reply line did not end with CRLF");
        }

        var line = buffer[..(newline - 1)];
        if (line.Length > MaxLineLength)
        {
            throw Invalid($"a reply line is longer than {MaxLineLength} bytes");
        }

        ValidateLineBytes(line);
        var lineEnd = newline + 1;

        var space = line.IndexOf((byte)' ');
        var code = space < 0 ? line : line[..space];
        var rest = space < 0 ? [] : line[(space + 1)..];
        var hasRest = space >= 0;

        switch (code.Length)
        {
            case 2 when code.SequenceEqual("VA"u8):
                return TryParseValue(buffer, lineEnd, rest, hasRest, maxValueSize, out response, out consumed);
            case 2 when code.SequenceEqual("HD"u8):
                response = WithFlags(MetaStatus.Success, rest, hasRest);
                break;
            case 2 when code.SequenceEqual("NS"u8):
                response = WithFlags(MetaStatus.NotStored, rest, hasRest);
                break;
            case 2 when code.SequenceEqual("EX"u8):
                response = WithFlags(MetaStatus.Exists, rest, hasRest);
                break;
            case 2 when code.SequenceEqual("NF"u8):
                response = WithFlags(MetaStatus.NotFound, rest, hasRest);
                break;
            case 2 when code.SequenceEqual("EN"u8):
                response = WithFlags(MetaStatus.Miss, rest, hasRest);
                break;
            case 2 when code.SequenceEqual("MN"u8):
                if (hasRest)
                {
                    throw Invalid("MN carries no flags");
                }

                response = new MetaResponse { Status = MetaStatus.NoOp };
                break;
            case 5 when code.SequenceEqual("ERROR"u8):
                response = new MetaResponse { Status = MetaStatus.Error, ErrorMessage = hasRest ? Encoding.ASCII.GetString(rest) : "" };
                break;
            case 12 when code.SequenceEqual("CLIENT_ERROR"u8):
                response = new MetaResponse { Status = MetaStatus.ClientError, ErrorMessage = Encoding.ASCII.GetString(rest) };
                break;
            case 12 when code.SequenceEqual("SERVER_ERROR"u8):
                response = new MetaResponse { Status = MetaStatus.ServerError, ErrorMessage = Encoding.ASCII.GetString(rest) };
                break;
            default:
                throw Invalid($"unknown reply '{Printable(code)}'");
        }

        consumed = lineEnd;
        return true;
    }

    private static bool TryParseValue(
        ReadOnlySpan<byte> buffer, int lineEnd, ReadOnlySpan<byte> rest, bool hasRest, int maxValueSize,
        [NotNullWhen(true)] out MetaResponse? response, out int consumed)
    {
        response = null;
        consumed = 0;
        if (!hasRest)
        {
            throw Invalid("VA without a size");
        }

        var space = rest.IndexOf((byte)' ');
        var sizeToken = space < 0 ? rest : rest[..space];
        if (!TryParseUInt64(sizeToken, out var size) || size > (ulong)maxValueSize)
        {
            throw Invalid($"VA size '{Printable(sizeToken)}' is not a number between 0 and the maximum item size {maxValueSize}");
        }

        var length = (int)size;
        var end = (long)lineEnd + length + 2;
        if (buffer.Length < end)
        {
            // Check what we can already: the bytes after the data must be CRLF once they arrive.
            return false;
        }

        if (buffer[lineEnd + length] != (byte)'\r' || buffer[lineEnd + length + 1] != (byte)'\n')
        {
            throw Invalid("a value's data block did not end with CRLF");
        }

        response = space < 0
            ? new MetaResponse { Status = MetaStatus.Value }
            : WithFlags(MetaStatus.Value, rest[(space + 1)..], hasRest: true);
        response.Value = buffer.Slice(lineEnd, length).ToArray();
        consumed = (int)end;
        return true;
    }

    private static MetaResponse WithFlags(MetaStatus status, ReadOnlySpan<byte> flags, bool hasRest)
    {
        var response = new MetaResponse { Status = status };
        if (!hasRest)
        {
            return response;
        }

        if (status == MetaStatus.Miss)
        {
            throw Invalid("EN carries no flags");
        }

        while (true)
        {
            var space = flags.IndexOf((byte)' ');
            var token = space < 0 ? flags : flags[..space];
            ParseFlag(response, token);
            if (space < 0)
            {
                return response;
            }

            flags = flags[(space + 1)..];
        }
    }

    private static void ParseFlag(MetaResponse response, ReadOnlySpan<byte> token)
    {
        if (token.IsEmpty || !char.IsAsciiLetter((char)token[0]))
        {
            throw Invalid($"malformed return flag '{Printable(token)}'");
        }

        var value = token[1..];
        switch ((char)token[0])
        {
            case 'f':
                response.ClientFlags = TryParseUInt64(value, out var flags) && flags <= uint.MaxValue
                    ? (uint)flags
                    : throw Invalid($"client flags '{Printable(value)}' are not a 32-bit unsigned number");
                break;
            case 'c':
                response.Cas = TryParseUInt64(value, out var cas) ? cas : throw Invalid($"CAS '{Printable(value)}' is not a 64-bit unsigned number");
                break;
            case 't':
                if (value.SequenceEqual("-1"u8))
                {
                    response.Ttl = -1;
                }
                else
                {
                    response.Ttl = TryParseUInt64(value, out var ttl) && ttl <= int.MaxValue
                        ? (int)ttl
                        : throw Invalid($"TTL '{Printable(value)}' is not -1 or a non-negative 32-bit number");
                }

                break;
            case 'O':
                response.Opaque = TryParseUInt64(value, out var opaque) && opaque <= uint.MaxValue
                    ? (uint)opaque
                    : throw Invalid($"opaque '{Printable(value)}' is not a number this client sent");
                break;
            case 'k':
                response.Key = value.IsEmpty ? throw Invalid("empty key flag") : Encoding.UTF8.GetString(value);
                break;
            default:
                // Flags we never ask for (s, h, l, W, X, Z, b...) are legal; their shape was checked with the line.
                break;
        }
    }

    /// <summary>Digits only: no sign, no spaces, at most 20 digits, no overflow.</summary>
    internal static bool TryParseUInt64(ReadOnlySpan<byte> digits, out ulong value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 20)
        {
            return false;
        }

        foreach (var b in digits)
        {
            var digit = (uint)(b - '0');
            if (digit > 9)
            {
                return false;
            }

            if (value > (ulong.MaxValue - digit) / 10)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }

    private static void ValidateLineBytes(ReadOnlySpan<byte> line)
    {
        // A reply line is printable text; keys may be UTF-8, so bytes >= 0x80 pass. Control bytes mean garbage.
        foreach (var b in line)
        {
            if (b < 0x20 || b == 0x7F)
            {
                throw Invalid($"control byte 0x{b:X2} in a reply line");
            }
        }
    }

    private static void ValidatePartialLine(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > MaxLineLength + 1)
        {
            throw Invalid($"no line end within {MaxLineLength} bytes");
        }

        // A trailing '\r' is the first half of CRLF; any other control byte is garbage already.
        var body = buffer.Length > 0 && buffer[^1] == (byte)'\r' ? buffer[..^1] : buffer;
        ValidateLineBytes(body);

        foreach (var prefix in KnownPrefixes)
        {
            var n = Math.Min(prefix.Length, body.Length);
            if (body[..n].SequenceEqual(prefix.AsSpan(0, n)))
            {
                return;
            }
        }

        throw Invalid($"unknown reply starting '{Printable(body[..Math.Min(body.Length, 32)])}'");
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var shown = bytes[..Math.Min(bytes.Length, 64)];
        var builder = new StringBuilder(shown.Length);
        foreach (var b in shown)
        {
            _ = b is >= 0x20 and < 0x7F ? builder.Append((char)b) : builder.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
        }

        return bytes.Length > shown.Length ? builder.Append("...").ToString() : builder.ToString();
    }

    private static MemcachedProtocolException Invalid(string reason) =>
        new($"Invalid reply from the memcached server: {reason}. The connection was discarded.");
}
