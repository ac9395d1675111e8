using System.Security.Cryptography;
using System.Text;

namespace Dogpile.Memcached;

/// <summary>memcached's key rules (at most 250 bytes, no spaces or control characters) and the hash that makes any key fit them.</summary>
internal static class MemcachedKeys
{
    public const int MaxKeyLength = Client.MemcachedClient.MaxKeyLength;

    /// <summary>"sha256:" and 64 hex digits: what an unsafe key becomes.</summary>
    public const int HashedKeyLength = 7 + 64;

    /// <summary>
    /// True when <paramref name="key"/> is at most <paramref name="maxBytes"/> bytes of printable ASCII other than space.
    /// Non-ASCII keys are hashed too: memcached would take their UTF-8 bytes, but a readable ASCII key is the point of
    /// keeping keys unhashed, and one rule for all is easier to reason about.
    /// </summary>
    public static bool IsSafe(string key, int maxBytes)
    {
        if (key.Length == 0 || key.Length > maxBytes)
        {
            return false;
        }

        foreach (char c in key)
        {
            if (c <= ' ' || c >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The lowercase hex SHA-256 of the key's UTF-8 bytes, prefixed with <c>sha256:</c>.</summary>
    public static string Hash(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return "sha256:" + Convert.ToHexStringLower(hash);
    }

    /// <summary>Keeps a safe key as it is and hashes the rest.</summary>
    public static string MangleIfUnsafe(string key, int maxBytes) => IsSafe(key, maxBytes) ? key : Hash(key);
}
