using System.Buffers;

namespace Dogpile;

/// <summary>
/// Turns values into bytes and back for byte-oriented backends. Implementations must deserialize only into
/// the type the caller asks for, never into a type named by the payload.
/// </summary>
public interface ICacheSerializer
{
    /// <summary>Writes <paramref name="value"/>.</summary>
    /// <typeparam name="T">The declared type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="destination">Where the bytes go.</param>
    void Serialize<T>(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The type to read; never taken from the payload.</typeparam>
    /// <param name="source">The bytes.</param>
    /// <returns>The value.</returns>
    /// <exception cref="CacheSerializationException">The bytes are not a valid <typeparamref name="T"/>.</exception>
    T Deserialize<T>(ReadOnlySequence<byte> source);
}
