using System.Globalization;
using System.Text;

namespace Dogpile.Redis.Internal;

/// <summary>
/// The message published on the lock-released channel: <c>{key byte count}:{key}</c>, followed, when the holder wrote a
/// small enough value as it released, by that entry's stored bytes. A waiter woken by it then has the value without a
/// read: one round trip less for every waiting process, exactly when they all wake at once.
/// </summary>
internal static class ReleaseNotice
{
    /// <summary>The largest entry a notice carries; larger ones are read back by the waiters (pub/sub goes to every process).</summary>
    public const int MaxCarriedEntryBytes = 16 * 1024;

    /// <summary>The notice's head: the key, length-prefixed so that the entry bytes can follow it.</summary>
    public static byte[] Head(string key)
    {
        int keyBytes = Encoding.UTF8.GetByteCount(key);
        string prefix = keyBytes.ToString(CultureInfo.InvariantCulture) + ":";
        var head = new byte[prefix.Length + keyBytes];
        Encoding.ASCII.GetBytes(prefix, head);
        Encoding.UTF8.GetBytes(key, head.AsSpan(prefix.Length));
        return head;
    }

    /// <summary>Reads a notice. A message without a valid head (another version's plain key) is taken as the key alone.</summary>
    public static string Read(byte[] message, out ReadOnlyMemory<byte> entry)
    {
        entry = ReadOnlyMemory<byte>.Empty;
        int colon = Array.IndexOf(message, (byte)':');
        if (colon is > 0 and <= 10
            && int.TryParse(message.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out int keyBytes)
            && keyBytes <= message.Length - colon - 1)
        {
            entry = message.AsMemory(colon + 1 + keyBytes);
            return Encoding.UTF8.GetString(message, colon + 1, keyBytes);
        }

        return Encoding.UTF8.GetString(message);
    }
}
