using System.Security.Cryptography;
using System.Text;
using Dogpile.Memcached.Client;

namespace Dogpile.Memcached.Tests;

#pragma warning disable CA5351 // ketama is defined on MD5; nothing here is security.

public sealed class KetamaRingTests
{
    private static readonly string[] ThreeServers = ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"];

    [Fact]
    public void Hash_KnownMd5Vector_IsFirstFourBytesLittleEndian()
    {
        // MD5("foo") = acbd18db 4cc2f85c edef654f ccc4a4d8 (RFC 1321 test-suite style vector, computed elsewhere).
        Assert.Equal(0xdb18bdacu, KetamaRing.Hash("foo"u8));
        // MD5("") = d41d8cd9 8f00b204 e9800998 ecf8427e.
        Assert.Equal(0xd98c1dd4u, KetamaRing.Hash(""u8));
    }

    [Fact]
    public void Ring_HasOneHundredSixtyPointsPerServer()
    {
        var ring = new KetamaRing(ThreeServers);

        Assert.Equal(3 * 160, ring.PointCount);
        Assert.All(ring.Points.GroupBy(p => p.Owner), g => Assert.Equal(160, g.Count()));
    }

    [Fact]
    public void GetServerIndex_MatchesIndependentReferenceImplementation()
    {
        var ring = new KetamaRing(ThreeServers);
        var reference = new ReferenceKetama(ThreeServers);

        for (var i = 0; i < 5000; i++)
        {
            var key = $"key:{i}";
            Assert.Equal(reference.ServerFor(key), ThreeServers[ring.GetServerIndex(Encoding.UTF8.GetBytes(key))]);
        }
    }

    [Fact]
    public void GetServerIndex_SpreadsKeysRoughlyEvenly()
    {
        var ring = new KetamaRing(ThreeServers);
        var counts = new int[3];
        const int keys = 30_000;
        for (var i = 0; i < keys; i++)
        {
            counts[ring.GetServerIndex(Encoding.UTF8.GetBytes($"user:{i}:profile"))]++;
        }

        // 160 points per server keeps each share within a few percent of a third; 25%..42% leaves slack.
        Assert.All(counts, c => Assert.InRange(c, keys * 25 / 100, keys * 42 / 100));
    }

    [Fact]
    public void GetServerIndex_AddingAServer_MovesOnlyKeysToTheNewServer()
    {
        var before = new KetamaRing(ThreeServers);
        var after = new KetamaRing([.. ThreeServers, "10.0.0.4:11211"]);
        var moved = 0;
        const int keys = 20_000;
        for (var i = 0; i < keys; i++)
        {
            var key = Encoding.UTF8.GetBytes($"k{i}");
            var old = before.GetServerIndex(key);
            var now = after.GetServerIndex(key);
            if (old != now)
            {
                Assert.Equal(3, now);
                moved++;
            }
        }

        Assert.InRange(moved, keys * 15 / 100, keys * 35 / 100);
    }

    /// <summary>
    /// A deliberately naive ketama written from the libmemcached description: string keys, BitConverter-free byte
    /// arithmetic, linear scan of a sorted list.
    /// </summary>
    private sealed class ReferenceKetama
    {
        private readonly List<(uint Point, string Server)> _continuum = [];

        public ReferenceKetama(IEnumerable<string> servers)
        {
            foreach (var server in servers)
            {
                for (var i = 0; i < 40; i++)
                {
                    var d = MD5.HashData(Encoding.ASCII.GetBytes(server + "-" + i));
                    for (var h = 0; h < 4; h++)
                    {
                        var point = ((uint)d[3 + (h * 4)] << 24) | ((uint)d[2 + (h * 4)] << 16) | ((uint)d[1 + (h * 4)] << 8) | d[h * 4];
                        _continuum.Add((point, server));
                    }
                }
            }

            _continuum.Sort((a, b) => a.Point.CompareTo(b.Point));
        }

        public string ServerFor(string key)
        {
            var d = MD5.HashData(Encoding.UTF8.GetBytes(key));
            var hash = ((uint)d[3] << 24) | ((uint)d[2] << 16) | ((uint)d[1] << 8) | d[0];
            foreach (var (point, server) in _continuum)
            {
                if (point >= hash)
                {
                    return server;
                }
            }

            return _continuum[0].Server;
        }
    }
}
