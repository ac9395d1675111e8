using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Dogpile.Engine;

namespace Dogpile;

/// <summary>
/// A value as a backend stores it: the value (a live object, or serialized bytes for byte-oriented backends)
/// together with the metadata the region needs to judge freshness at read time.
/// </summary>
/// <remarks>
/// Expiry is never baked into the backend's own TTL alone: the backend keeps the entry for its logical
/// expiration plus the region's stale window, and the region decides at read time whether it is fresh,
/// stale, or too old to serve. Entries are immutable once built.
/// </remarks>
public sealed class CacheEntry
{
    /// <summary>The first byte of the binary envelope written by <see cref="ToBytes"/>.</summary>
    internal const byte EnvelopeMagic = 0xD6;

    /// <summary>
    /// The envelope format version of an entry without tags; bump it when the layout changes. An entry with tags is
    /// written as version 2 (the same header, then its tags, then the payload), so readers that predate tags keep
    /// reading every untagged entry during a rolling upgrade.
    /// </summary>
    public const byte FormatVersion = 1;

    /// <summary>The envelope format version of an entry with tags.</summary>
    internal const byte TaggedFormatVersion = 2;

    /// <summary>Size of the envelope header that precedes the payload.</summary>
    internal const int HeaderSize = 2 + 8 + 8 + 8;

    // Memoizes the deserialized value so that a backend which hands back the same entry instance
    // (a local layer in front of a remote store) pays for deserialization once, not per hit.
    private object? _decoded;

    /// <summary>Creates an entry that holds a live object (for object-storing backends).</summary>
    /// <param name="value">The cached value.</param>
    /// <param name="createdUtcTicks">When the creator finished, in UTC ticks.</param>
    /// <param name="expiration">The logical expiration; <see langword="null"/> means it never expires.</param>
    /// <param name="creationDuration">How long the creator took; used by probabilistic early expiration.</param>
    public CacheEntry(object? value, long createdUtcTicks, TimeSpan? expiration, TimeSpan creationDuration)
        : this(value, createdUtcTicks, EntryLifetime.FromExpiration(expiration), creationDuration.Ticks)
    {
    }

    /// <summary>Creates an entry that holds serialized bytes (for byte-oriented backends).</summary>
    /// <param name="payload">The serialized value, without the envelope.</param>
    /// <param name="createdUtcTicks">When the creator finished, in UTC ticks.</param>
    /// <param name="expiration">The logical expiration; <see langword="null"/> means it never expires.</param>
    /// <param name="creationDuration">How long the creator took.</param>
    public CacheEntry(ReadOnlyMemory<byte> payload, long createdUtcTicks, TimeSpan? expiration, TimeSpan creationDuration)
        : this(payload, createdUtcTicks, EntryLifetime.FromExpiration(expiration), creationDuration.Ticks)
    {
    }

    internal CacheEntry(object? value, long createdUtcTicks, EntryLifetime lifetime, long creationDurationTicks)
    {
        Value = value;
        CreatedUtcTicks = createdUtcTicks;
        Lifetime = lifetime;
        CreationDurationTicks = creationDurationTicks;
        FreshUntilUtcTicks = lifetime.FreshUntil(createdUtcTicks);
        HitUntilUtcTicks = FreshUntilUtcTicks;

        // A live object is its own decoded value: the inlined hit path reads Decoded alone, for the memory backend's
        // entries and for a near cache's decoded byte entries alike.
        _decoded = value;
    }

    internal CacheEntry(ReadOnlyMemory<byte> payload, long createdUtcTicks, EntryLifetime lifetime, long creationDurationTicks)
        : this((object?)null, createdUtcTicks, lifetime, creationDurationTicks)
    {
        Payload = payload;
        HasPayload = true;
    }

    /// <summary>The live value, for object-storing backends; <see langword="null"/> for byte entries.</summary>
    public object? Value { get; }

    /// <summary>The serialized value, for byte-oriented backends.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Whether this entry carries serialized bytes rather than a live object.</summary>
    public bool HasPayload { get; }

    /// <summary>When the creator finished, in UTC ticks.</summary>
    public long CreatedUtcTicks { get; }

    /// <summary>When the creator finished.</summary>
    public DateTimeOffset Created => new(CreatedUtcTicks, TimeSpan.Zero);

    /// <summary>The logical expiration, or <see langword="null"/> when the value never expires.</summary>
    public TimeSpan? Expiration => Lifetime.ToExpiration();

    /// <summary>How long the creator took to produce the value.</summary>
    public TimeSpan CreationDuration => new(CreationDurationTicks);

    /// <summary>The logical expiration, the region's one spelling of it.</summary>
    internal EntryLifetime Lifetime { get; }

    internal long CreationDurationTicks { get; }

    /// <summary>UTC ticks until which the entry is fresh (<see cref="EntryLifetime.FreshUntil"/>).</summary>
    internal long FreshUntilUtcTicks { get; }

    /// <summary>
    /// Until when a read of this very instance may serve it with no further check: <see cref="FreshUntilUtcTicks"/>, or
    /// earlier when the region that built it refreshes early (set by that region before the entry is published), so the
    /// inlined hit path needs no early-refresh arithmetic.
    /// </summary>
    internal long HitUntilUtcTicks { get; set; }

    /// <summary>The tags the entry was stored with (see <see cref="CacheEntryOptions.Tags"/>); empty when none.</summary>
    public IReadOnlyList<string> Tags => TagArray ?? [];

    /// <summary>
    /// The tags, or <see langword="null"/> when there are none: the hit path's one check. Validated (bounded count and
    /// length, no duplicates) and set by the region before the entry is published, or decoded from the envelope.
    /// </summary>
    internal string[]? TagArray { get; set; }

    /// <summary>Created while the backend was unavailable and held in this process only: what it serves is degraded.</summary>
    internal bool CreatedDuringOutage { get; set; }

    internal object? Decoded
    {
        get => Volatile.Read(ref _decoded);
        set => Volatile.Write(ref _decoded, value);
    }

    /// <summary>
    /// Writes the entry as one buffer: a versioned header (magic, format version, created time, expiration,
    /// creation duration) followed by the payload. Byte-oriented backends store exactly these bytes.
    /// </summary>
    /// <returns>The encoded entry.</returns>
    /// <exception cref="InvalidOperationException">The entry holds a live object rather than bytes.</exception>
    public byte[] ToBytes()
    {
        if (!HasPayload)
        {
            throw new InvalidOperationException("Only entries that hold serialized bytes can be encoded; this entry holds a live object.");
        }

        string[]? tags = TagArray;
        int tagBytes = tags is null ? 0 : TagBlockSize(tags);
        var buffer = new byte[HeaderSize + tagBytes + Payload.Length];
        buffer[0] = EnvelopeMagic;
        buffer[1] = tags is null ? FormatVersion : TaggedFormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(2), CreatedUtcTicks);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(10), Lifetime.StoredTicks);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(18), CreationDurationTicks);
        if (tags is not null)
        {
            WriteTags(tags, buffer.AsSpan(HeaderSize, tagBytes));
        }

        Payload.Span.CopyTo(buffer.AsSpan(HeaderSize + tagBytes));
        return buffer;
    }

    // Version 2's tag block: a count byte, then per tag a 16-bit little-endian UTF-8 length and the bytes.
    private static int TagBlockSize(string[] tags)
    {
        int size = 1;
        foreach (string tag in tags)
        {
            size += 2 + Encoding.UTF8.GetByteCount(tag);
        }

        return size;
    }

    private static void WriteTags(string[] tags, Span<byte> block)
    {
        block[0] = (byte)tags.Length;
        int at = 1;
        foreach (string tag in tags)
        {
            int length = Encoding.UTF8.GetBytes(tag, block[(at + 2)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(block[at..], (ushort)length);
            at += 2 + length;
        }
    }

    private static string[]? ReadTags(ReadOnlySpan<byte> span, out int blockSize, out string? error)
    {
        blockSize = 0;
        error = "A stored cache entry's tag block is truncated or invalid.";
        if (span.IsEmpty || span[0] == 0 || span[0] > TagRules.MaxTags)
        {
            return null;
        }

        var tags = new string[span[0]];
        int at = 1;
        for (int i = 0; i < tags.Length; i++)
        {
            if (span.Length - at < 2)
            {
                return null;
            }

            int length = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
            at += 2;
            if (length == 0 || length > span.Length - at)
            {
                return null;
            }

            try
            {
                tags[i] = TagRules.Utf8Strict.GetString(span.Slice(at, length));
            }
            catch (DecoderFallbackException)
            {
                return null;
            }

            if (!TagRules.IsValid(tags[i]))
            {
                return null;
            }

            at += length;
        }

        blockSize = at;
        error = null;
        return tags;
    }

    /// <summary>Decodes bytes written by <see cref="ToBytes"/>.</summary>
    /// <param name="data">The stored bytes. The returned entry references this memory; do not reuse it.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="CacheSerializationException">The bytes are not a valid entry of a known format version.</exception>
    public static CacheEntry FromBytes(ReadOnlyMemory<byte> data)
        => Decode(data, out string? error) ?? throw new CacheSerializationException(error!);

    /// <summary>Decodes bytes written by <see cref="ToBytes"/>, without throwing for bytes that are not a valid entry.</summary>
    /// <param name="data">The stored bytes. The returned entry references this memory; do not reuse it.</param>
    /// <param name="entry">The entry, or <see langword="null"/>.</param>
    /// <returns>Whether the bytes were a valid entry of a known format version.</returns>
    public static bool TryFromBytes(ReadOnlyMemory<byte> data, [NotNullWhen(true)] out CacheEntry? entry)
    {
        entry = Decode(data, out _);
        return entry is not null;
    }

    private static CacheEntry? Decode(ReadOnlyMemory<byte> data, out string? error)
    {
        ReadOnlySpan<byte> span = data.Span;
        if (span.Length < HeaderSize)
        {
            error = $"A stored cache entry is {span.Length} bytes long, shorter than its {HeaderSize}-byte header.";
            return null;
        }

        if (span[0] != EnvelopeMagic)
        {
            error = $"A stored cache entry starts with 0x{span[0]:X2}, not the Dogpile envelope marker 0x{EnvelopeMagic:X2}.";
            return null;
        }

        if (span[1] is not FormatVersion and not TaggedFormatVersion)
        {
            error = $"A stored cache entry has format version {span[1]}; this build reads versions {FormatVersion} and {TaggedFormatVersion}.";
            return null;
        }

        long created = BinaryPrimitives.ReadInt64LittleEndian(span[2..]);
        long expiration = BinaryPrimitives.ReadInt64LittleEndian(span[10..]);
        long duration = BinaryPrimitives.ReadInt64LittleEndian(span[18..]);
        if (created <= 0 || created > DateTimeOffset.MaxValue.UtcTicks || (expiration < 0 && expiration != EntryLifetime.StoredNever) || duration < 0)
        {
            error = "A stored cache entry has an invalid header (created time, expiration or creation duration out of range).";
            return null;
        }

        string[]? tags = null;
        int tagBytes = 0;
        if (span[1] == TaggedFormatVersion)
        {
            tags = ReadTags(span[HeaderSize..], out tagBytes, out error);
            if (tags is null)
            {
                return null;
            }
        }

        error = null;
        return new CacheEntry(data[(HeaderSize + tagBytes)..], created, EntryLifetime.FromStoredTicks(expiration), duration)
        {
            TagArray = tags,
        };
    }
}
