using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Dogpile.Internal;

/// <summary>
/// What an adapter's admin shows of a stored entry envelope: its times, the start of its payload and its tags. One
/// reading for both adapters, whose key-info records differ in everything around it (kept out of the core's public
/// surface, as the circuit breaker is).
/// </summary>
internal sealed class StoredEntryView
{
    /// <summary>The most characters of payload shown.</summary>
    internal const int PreviewLength = 200;

    private StoredEntryView(CacheEntry entry)
    {
        Created = entry.Created;
        CreationDuration = entry.CreationDuration;
        FreshUntil = entry.Expiration is { } e && entry.CreatedUtcTicks + e.Ticks is long until && until > entry.CreatedUtcTicks && until <= DateTimeOffset.MaxValue.UtcTicks
            ? new DateTimeOffset(until, TimeSpan.Zero)
            : null;
        PayloadPreview = Preview(entry.Payload.Span);
        Tags = entry.Tags;
    }

    /// <summary>When the value was created.</summary>
    public DateTimeOffset Created { get; }

    /// <summary>How long its creator took.</summary>
    public TimeSpan CreationDuration { get; }

    /// <summary>Until when it is fresh; <see langword="null"/> when it never expires.</summary>
    public DateTimeOffset? FreshUntil { get; }

    /// <summary>The start of the payload as UTF-8 text (the default serializer writes JSON), at most <see cref="PreviewLength"/> characters.</summary>
    public string PayloadPreview { get; }

    /// <summary>The entry's tags (envelope version 2); empty when it has none.</summary>
    public IReadOnlyList<string> Tags { get; }

    /// <summary>Reads a stored envelope; <see langword="false"/> when the bytes are not a Dogpile entry.</summary>
    public static bool TryRead(ReadOnlyMemory<byte> stored, [NotNullWhen(true)] out StoredEntryView? view)
    {
        view = CacheEntry.TryFromBytes(stored, out CacheEntry? entry) ? new StoredEntryView(entry) : null;
        return view is not null;
    }

    private static string Preview(ReadOnlySpan<byte> payload)
    {
        // At most 4 bytes per character: enough bytes for the preview, never the whole of a large payload.
        string text = Encoding.UTF8.GetString(payload[..Math.Min(payload.Length, PreviewLength * 4)]);
        return text.Length <= PreviewLength ? text : string.Concat(text.AsSpan(0, PreviewLength - 3), "...");
    }
}
