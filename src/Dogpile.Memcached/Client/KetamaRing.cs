using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Dogpile.Memcached.Client;

/// <summary>
/// Ketama consistent hashing as libmemcached and spymemcached do it, so other clients sharing these servers agree
/// on which server owns a key, and adding or removing one server moves only about 1/n of the keys.
/// </summary>
/// <remarks>
/// Each server gets 160 points: for i in 0..39, MD5("host:port-i") yields four little-endian 32-bit points. A key
/// hashes to the first four bytes of MD5(key), little-endian, and belongs to the first point at or after it,
/// wrapping past the top. MD5 is used for compatibility, not security.
/// </remarks>
internal sealed class KetamaRing
{
    internal const int PointsPerServer = 160;

    private readonly uint[] _points;
    private readonly int[] _owners;

    public KetamaRing(IReadOnlyList<string> serverNames)
    {
        ArgumentNullException.ThrowIfNull(serverNames);
        var entries = new List<(uint Point, int Owner)>(serverNames.Count * PointsPerServer);
        Span<byte> digest = stackalloc byte[16];
        for (var server = 0; server < serverNames.Count; server++)
        {
            for (var i = 0; i < PointsPerServer / 4; i++)
            {
                Md5(Encoding.UTF8.GetBytes($"{serverNames[server]}-{i}"), digest);
                for (var h = 0; h < 4; h++)
                {
                    entries.Add((BinaryPrimitives.ReadUInt32LittleEndian(digest[(4 * h)..]), server));
                }
            }
        }

        // Ties are broken by server order so every process builds the same ring from the same list.
        entries.Sort(static (a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Owner.CompareTo(b.Owner));
        _points = entries.Select(e => e.Point).ToArray();
        _owners = entries.Select(e => e.Owner).ToArray();
        ServerCount = serverNames.Count;
    }

    public int ServerCount { get; }

    public int PointCount => _points.Length;

    /// <summary>The ring position of a key: the first four bytes of its MD5, little-endian.</summary>
    public static uint Hash(ReadOnlySpan<byte> key)
    {
        Span<byte> digest = stackalloc byte[16];
        Md5(key, digest);
        return BinaryPrimitives.ReadUInt32LittleEndian(digest);
    }

    /// <summary>The index (in the configured list) of the server that owns <paramref name="key"/>.</summary>
    public int GetServerIndex(ReadOnlySpan<byte> key)
    {
        if (ServerCount == 1)
        {
            return 0;
        }

        var hash = Hash(key);
        var index = Array.BinarySearch(_points, hash);
        if (index < 0)
        {
            index = ~index;
        }
        else
        {
            // Equal points: take the first one, as a lower-bound search would.
            while (index > 0 && _points[index - 1] == hash)
            {
                index--;
            }
        }

        return _owners[index == _points.Length ? 0 : index];
    }

    internal IEnumerable<(uint Point, int Owner)> Points => _points.Zip(_owners);

#pragma warning disable CA5351 // MD5 is what ketama specifies; it places keys, it protects nothing.
    private static void Md5(ReadOnlySpan<byte> data, Span<byte> digest) => MD5.HashData(data, digest);
#pragma warning restore CA5351
}
