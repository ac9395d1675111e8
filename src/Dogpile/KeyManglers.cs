using System.Security.Cryptography;
using System.Text;

namespace Dogpile;

/// <summary>Ready-made key manglers for <see cref="CacheRegionOptions.KeyMangler"/>.</summary>
public static class KeyManglers
{
    /// <summary>Replaces every key with the lowercase hex SHA-256 of its UTF-8 bytes (64 characters).</summary>
    public static Func<string, string> Sha256 { get; } = HashSha256;

    /// <summary>
    /// Keeps keys that are at most <paramref name="maxBytes"/> UTF-8 bytes of printable ASCII other than space,
    /// and hashes the rest with SHA-256, so readable keys stay readable.
    /// </summary>
    /// <param name="maxBytes">The longest key kept as it is.</param>
    /// <returns>The mangler.</returns>
    public static Func<string, string> HashIfUnsafe(int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 64);
        return key =>
        {
            if (key.Length <= maxBytes)
            {
                bool safe = true;
                foreach (char c in key)
                {
                    if (c <= ' ' || c >= 0x7F)
                    {
                        safe = false;
                        break;
                    }
                }

                if (safe)
                {
                    return key;
                }
            }

            return "sha256:" + HashSha256(key);
        };
    }

    private static string HashSha256(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return Convert.ToHexStringLower(hash);
    }
}
