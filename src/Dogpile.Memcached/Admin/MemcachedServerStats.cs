using System.Globalization;

namespace Dogpile.Memcached;

/// <summary>One memcached server's <c>stats</c>.</summary>
/// <param name="Server">The server, <c>host:port</c>.</param>
/// <param name="Stats">Every statistic as the server named it (<c>curr_items</c>, <c>get_hits</c>, <c>evictions</c>, ...).</param>
public sealed record MemcachedServerStats(string Server, IReadOnlyDictionary<string, string> Stats)
{
    /// <summary>A statistic as a number, or <see langword="null"/> when absent or not a whole number.</summary>
    /// <param name="name">Its name.</param>
    /// <returns>The value.</returns>
    public long? Number(string name)
        => Stats.TryGetValue(name, out string? text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : null;
}
