using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace Dogpile.Engine;

/// <summary>
/// The invalidation marks of a region's tags: an entry carrying a tag is missing when it was created at or before the
/// tag's hard mark, stale at or before its soft mark. Lazy like the region's marks: nothing is scanned, an entry is
/// judged when it is read. <see cref="Latest"/> is the latest mark of any tag, so an entry created after it (every
/// entry, until a tag is first invalidated) is cleared with one compare and no lookup.
/// </summary>
internal sealed class TagMarks(InvalidationMarks region)
{
    private readonly ConcurrentDictionary<string, Mark> _byTag = new(StringComparer.Ordinal);
    private long _latest;

    public long Latest
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _latest);
    }

    public int Count => _byTag.Count;

    /// <summary>
    /// The mark of a tag invalidation now: strictly after the tag's previous mark of that kind and at or after every
    /// created time stamped in this region (the region's rule, <see cref="InvalidationMarks.Next"/>).
    /// </summary>
    public RegionInvalidation Next(string tag, InvalidationMode mode)
    {
        long previous = _byTag.TryGetValue(tag, out Mark? mark) ? (mode == InvalidationMode.Hard ? mark.Hard : mark.Soft) : 0;
        long next = region.NextMark(previous);
        return mode == InvalidationMode.Hard ? new(next, 0) : new(0, next);
    }

    /// <summary>Applies a tag's marks made here or published by another process; each only moves forward.</summary>
    public void Apply(string tag, RegionInvalidation marks)
    {
        Mark mark = _byTag.GetOrAdd(tag, static _ => new Mark());
        InvalidationMarks.InterlockedMax(ref mark.Hard, marks.HardUtcTicks);
        InvalidationMarks.InterlockedMax(ref mark.Soft, marks.SoftUtcTicks);
        long latest = Math.Max(marks.HardUtcTicks, marks.SoftUtcTicks);

        // Values created from now on are stamped after the mark, so it never catches them.
        region.RaiseStampFloor(latest);
        InvalidationMarks.InterlockedMax(ref _latest, latest);
    }

    /// <summary>The marks of one tag; zeros when it was never invalidated.</summary>
    public RegionInvalidation Get(string tag)
        => _byTag.TryGetValue(tag, out Mark? mark) ? new(Volatile.Read(ref mark.Hard), Volatile.Read(ref mark.Soft)) : default;

    /// <summary>Whether any of the entry's tags was invalidated (hard or soft) at or after it was created.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Catches(CacheEntry entry, string[] tags) => entry.CreatedUtcTicks <= Latest && CatchesSlow(entry.CreatedUtcTicks, tags);

    /// <summary>The latest hard mark among the tags.</summary>
    public long HardOf(string[] tags)
    {
        long hard = 0;
        foreach (string tag in tags)
        {
            if (_byTag.TryGetValue(tag, out Mark? mark))
            {
                hard = Math.Max(hard, Volatile.Read(ref mark.Hard));
            }
        }

        return hard;
    }

    /// <summary>The latest soft mark among the tags.</summary>
    public long SoftOf(string[] tags)
    {
        long soft = 0;
        foreach (string tag in tags)
        {
            if (_byTag.TryGetValue(tag, out Mark? mark))
            {
                soft = Math.Max(soft, Volatile.Read(ref mark.Soft));
            }
        }

        return soft;
    }

    private bool CatchesSlow(long created, string[] tags)
    {
        foreach (string tag in tags)
        {
            if (_byTag.TryGetValue(tag, out Mark? mark) && (created <= Volatile.Read(ref mark.Hard) || created <= Volatile.Read(ref mark.Soft)))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Mark
    {
        public long Hard;
        public long Soft;
    }
}

/// <summary>What a tag may be, checked where tags enter (entry options, invalidation) so reads never check again.</summary>
internal static class TagRules
{
    public const int MaxTags = 16;

    public const int MaxTagLength = 128;

    /// <summary>Reserved: HybridCache's <c>RemoveByTagAsync("*")</c> means every entry.</summary>
    public const string Wildcard = "*";

    public static readonly UTF8Encoding Utf8Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool IsValid(string? tag)
        => !string.IsNullOrWhiteSpace(tag) && tag.Length <= MaxTagLength && tag != Wildcard && !tag.AsSpan().ContainsAnyInRange('\0', '\u001f');

    public static void Validate(string? tag, string paramName)
    {
        ArgumentNullException.ThrowIfNull(tag, paramName);
        if (!IsValid(tag))
        {
            throw new ArgumentException(
                $"The tag '{(tag.Length <= 64 ? tag : string.Concat(tag.AsSpan(0, 61), "..."))}' is not valid: a tag is 1 to {MaxTagLength} characters, not blank, without control characters, and not \"{Wildcard}\".",
                paramName);
        }
    }

    /// <summary>The tags as an array without duplicates, or <see langword="null"/> for none; throws past the bounds.</summary>
    public static string[]? Normalize(IEnumerable<string>? tags, string paramName)
    {
        if (tags is null)
        {
            return null;
        }

        var list = new List<string>();
        foreach (string tag in tags)
        {
            Validate(tag, paramName);
            if (!list.Contains(tag, StringComparer.Ordinal))
            {
                if (list.Count == MaxTags)
                {
                    throw new ArgumentException($"An entry carries at most {MaxTags} tags (CacheEntryOptions.MaxTags); more were given.", paramName);
                }

                list.Add(tag);
            }
        }

        return list.Count == 0 ? null : [.. list];
    }
}
