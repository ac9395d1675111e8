using System.Buffers;
using System.Text.Json;

namespace Dogpile;

/// <summary>
/// The default serializer: System.Text.Json. Polymorphic type names in payloads are never honoured unless
/// the given options opt in per type (System.Text.Json's own rule), so a payload cannot choose what gets built.
/// </summary>
public sealed class SystemTextJsonCacheSerializer : ICacheSerializer
{
    /// <summary>The default options: web defaults, plus fields, so value tuples (cached-function arguments) round-trip.</summary>
    public static JsonSerializerOptions DefaultOptions { get; } = new(JsonSerializerDefaults.Web) { IncludeFields = true };

    private readonly JsonSerializerOptions _options;

    /// <summary>Creates the serializer.</summary>
    /// <param name="options">The options; <see cref="DefaultOptions"/> when <see langword="null"/>.</param>
    public SystemTextJsonCacheSerializer(JsonSerializerOptions? options = null)
    {
        _options = options ?? DefaultOptions;
    }

    /// <summary>A shared instance with <see cref="DefaultOptions"/>.</summary>
    public static SystemTextJsonCacheSerializer Default { get; } = new();

    /// <inheritdoc />
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        using var writer = new Utf8JsonWriter(destination);
        JsonSerializer.Serialize(writer, value, _options);
    }

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySequence<byte> source)
    {
        try
        {
            // Every payload a backend hands over is one segment; the span overload parses it once, while the reader
            // overload first scans to the end of the value and then parses it again.
            if (source.IsSingleSegment)
            {
                return JsonSerializer.Deserialize<T>(source.FirstSpan, _options)!;
            }

            var reader = new Utf8JsonReader(source);
            T value = JsonSerializer.Deserialize<T>(ref reader, _options)!;

            // As strict as the span overload: anything but whitespace after the value makes the payload unreadable.
            if (reader.Read())
            {
                throw new JsonException("Unexpected content after the JSON value.");
            }

            return value;
        }
        catch (JsonException ex)
        {
            throw new CacheSerializationException($"Stored bytes are not valid JSON for {typeof(T).Name}: {ex.Message}", ex);
        }
        catch (NotSupportedException ex)
        {
            throw new CacheSerializationException($"{typeof(T).Name} cannot be deserialized from JSON: {ex.Message}", ex);
        }
    }
}
