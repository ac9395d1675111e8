using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Dogpile;

/// <summary>How cached functions write their arguments into keys.</summary>
public static class FunctionKeys
{
    /// <summary>
    /// Writes arguments as a key part: strings as they are with <c>\</c> and <c>|</c> escaped; numbers, dates
    /// (round-trip format), GUIDs, booleans and enums in invariant form; tuples element by element joined
    /// with <c>|</c>; <see langword="null"/> as <c>\0</c>; anything else as its JSON through <paramref name="serializer"/>.
    /// Distinct arguments give distinct keys.
    /// </summary>
    /// <typeparam name="TArg">The argument type.</typeparam>
    /// <param name="arguments">The arguments.</param>
    /// <param name="serializer">Writes arguments of other types.</param>
    /// <returns>The key part.</returns>
    public static string Format<TArg>(TArg arguments, ICacheSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        var builder = new StringBuilder();
        if (arguments is ITuple tuple)
        {
            for (int i = 0; i < tuple.Length; i++)
            {
                if (i > 0)
                {
                    builder.Append('|');
                }

                AppendOne(builder, tuple[i], serializer);
            }
        }
        else
        {
            AppendOne(builder, arguments, serializer);
        }

        return builder.ToString();
    }

    private static void AppendOne(StringBuilder builder, object? value, ICacheSerializer serializer)
    {
        switch (value)
        {
            case null:
                builder.Append("\\0");
                break;
            case string text:
                AppendEscaped(builder, text);
                break;
            case bool flag:
                builder.Append(flag ? "true" : "false");
                break;
            case DateTime dateTime:
                builder.Append(dateTime.ToString("O", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset dateTimeOffset:
                builder.Append(dateTimeOffset.ToString("O", CultureInfo.InvariantCulture));
                break;
            case Enum enumValue:
                builder.Append(enumValue.ToString());
                break;
            case IFormattable formattable when value.GetType().IsPrimitive || value is decimal || value is Guid || value is TimeSpan:
                builder.Append(formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                var buffer = new ArrayBufferWriter<byte>(64);
                serializer.Serialize(value, buffer);
                AppendEscaped(builder, Encoding.UTF8.GetString(buffer.WrittenSpan));
                break;
        }
    }

    private static void AppendEscaped(StringBuilder builder, string text)
    {
        foreach (char c in text)
        {
            if (c is '\\' or '|')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }
    }
}
