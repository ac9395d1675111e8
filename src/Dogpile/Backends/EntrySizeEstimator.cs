using System.Buffers;
using System.Text.Json;

namespace Dogpile.Internal;

/// <summary>
/// The memory backend's default weigher: what an entry costs in bytes, approximately. Exact for the shapes whose
/// size is known (strings, byte arrays, arrays of primitives, serialized payloads); other objects are weighed by the
/// length of their UTF-8 JSON, counted without keeping the text.
/// </summary>
internal static class EntrySizeEstimator
{
    // The slot, the entry, the dictionary node and the queue cell, with their object headers (64-bit).
    private const long PerEntryOverhead = 160;

    // A value that cannot be written as JSON (a cycle, a delegate) still costs something: assume a small object.
    private const long UnmeasurableValue = 1024;

    [ThreadStatic]
    private static CountingWriter? t_writer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    public static long Estimate(string key, CacheEntry entry)
    {
        long size = PerEntryOverhead + (2L * key.Length) + 24;
        if (entry.HasPayload)
        {
            return size + entry.Payload.Length;
        }

        return size + EstimateValue(entry.Value);
    }

    private static long EstimateValue(object? value)
    {
        switch (value)
        {
            case null:
                return 0;
            case string text:
                return 24 + (2L * text.Length);
            case byte[] bytes:
                return 24 + bytes.Length;
            case Array array when array.GetType().GetElementType() is { IsPrimitive: true }:
                return 24 + Buffer.ByteLength(array);
        }

        if (value.GetType().IsPrimitive)
        {
            return 24;
        }

        CountingWriter writer = t_writer ??= new CountingWriter();
        writer.Count = 0;
        Utf8JsonWriter json = t_json ??= new Utf8JsonWriter(writer);
        try
        {
            json.Reset(writer);
            JsonSerializer.Serialize(json, value, value.GetType(), SystemTextJsonCacheSerializer.DefaultOptions);
            json.Flush();
            return 24 + writer.Count;
        }
#pragma warning disable CA1031 // Any failure to measure means "unknown size", never a failed write.
        catch (Exception)
#pragma warning restore CA1031
        {
            // A writer left mid-document is unusable: start clean next time.
            t_json = null;
            return UnmeasurableValue;
        }
    }

    /// <summary>Counts the bytes written and keeps none of them: one reused scratch buffer per thread.</summary>
    private sealed class CountingWriter : IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[4096];

        public long Count { get; set; }

        public void Advance(int count) => Count += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint).Span;

        private Memory<byte> Scratch(int sizeHint)
        {
            if (sizeHint > _scratch.Length)
            {
                _scratch = new byte[Math.Max(sizeHint, _scratch.Length * 2)];
            }

            return _scratch;
        }
    }
}
