using System.Buffers;

namespace Packages.Web;

/// <summary>What a package name in a URL may be: 1 to 100 of <c>[A-Za-z0-9._+-]</c>, like every Fedora package.</summary>
public static class PackageName
{
    /// <summary>The longest name accepted.</summary>
    public const int MaxLength = 100;

    /// <summary>Why a name was refused, without repeating the name (it may be hostile).</summary>
    public const string Rule = "a package name is 1 to 100 characters of letters, digits, '.', '_', '+' and '-'";

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-");

    /// <summary>Whether <paramref name="name"/> follows <see cref="Rule"/>.</summary>
    /// <param name="name">The name from the URL (already percent-decoded).</param>
    /// <returns>True when it is safe to use as a cache key, in an upstream URL and in HTML.</returns>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && !name.AsSpan().ContainsAnyExcept(Allowed);

    /// <summary>Whether search text is acceptable: at most 100 characters, no control characters. It is always HTML-encoded when shown.</summary>
    /// <param name="text">The search text.</param>
    /// <returns>True when acceptable.</returns>
    public static bool IsValidSearch(string text) => text.Length <= MaxLength && !text.Any(char.IsControl);
}
