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
/// <remarks>
/// Bounded: past <see cref="Capacity"/> tags (per-user or per-item tags can be numberless), the oldest quarter of the
/// marks is folded into two floors, hard and soft, that catch every tagged entry created at or before them. Folding
/// only ever catches more (old tagged entries, whatever their tags, are treated as invalidated), never fewer: a folded
/// tag's own entries stay invalidated.
/// </remarks>
internal sealed class TagMarks(InvalidationMarks region, int capacity = TagMarks.DefaultCapacity)
{
    /// <summary>The most tags whose marks are kept one by one.</summary>
    public const int DefaultCapacity = 100_000;

    private readonly ConcurrentDictionary<string, Mark> _byTag = new(StringComparer.Ordinal);

    // Marks change under this lock (invalidations are rare); reads take no lock.
    private readonly Lock _changing = new();
    private long _latest;
    private long _floorHard;
    private long _floorSoft;

    /// <summary>The most tags whose marks are kept one by one; see the remarks.</summary>
    public int Capacity => capacity;

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
        lock (_changing)
        {
            Mark mark = _byTag.GetOrAdd(tag, static _ => new Mark());
            InvalidationMarks.InterlockedMax(ref mark.Hard, marks.HardUtcTicks);
            InvalidationMarks.InterlockedMax(ref mark.Soft, marks.SoftUtcTicks);
            if (_byTag.Count > capacity)
            {
                FoldOldest();
            }
        }

        long latest = Math.Max(marks.HardUtcTicks, marks.SoftUtcTicks);

        // Values created from now on are stamped after the mark, so it never catches them.
        region.RaiseStampFloor(latest);
        InvalidationMarks.InterlockedMax(ref _latest, latest);
    }

    /// <summary>The marks of one tag (the floors for a folded one); zeros when it was never invalidated.</summary>
    public RegionInvalidation Get(string tag)
        => _byTag.TryGetValue(tag, out Mark? mark)
            ? new(Math.Max(Volatile.Read(ref mark.Hard), Volatile.Read(ref _floorHard)), Math.Max(Volatile.Read(ref mark.Soft), Volatile.Read(ref _floorSoft)))
            : new(Volatile.Read(ref _floorHard), Volatile.Read(ref _floorSoft));

    /// <summary>Whether any of the entry's tags was invalidated (hard or soft) at or after it was created.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Catches(CacheEntry entry, string[] tags) => entry.CreatedUtcTicks <= Latest && CatchesSlow(entry.CreatedUtcTicks, tags);

    /// <summary>The latest hard mark among the tags.</summary>
    public long HardOf(string[] tags)
    {
        long hard = tags.Length == 0 ? 0 : Volatile.Read(ref _floorHard);
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
        long soft = tags.Length == 0 ? 0 : Volatile.Read(ref _floorSoft);
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
        if (tags.Length > 0 && (created <= Volatile.Read(ref _floorHard) || created <= Volatile.Read(ref _floorSoft)))
        {
            return true;
        }

        foreach (string tag in tags)
        {
            if (_byTag.TryGetValue(tag, out Mark? mark) && (created <= Volatile.Read(ref mark.Hard) || created <= Volatile.Read(ref mark.Soft)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Folds the oldest quarter of the marks into the floors. The floors rise before the marks go, so a reader always
    /// sees a folded mark one way or the other. Called under <see cref="_changing"/>.
    /// </summary>
    private void FoldOldest()
    {
        KeyValuePair<string, Mark>[] oldest = [.. _byTag.OrderBy(static pair => Math.Max(pair.Value.Hard, pair.Value.Soft)).Take(Math.Max(1, capacity / 4))];
        foreach ((_, Mark mark) in oldest)
        {
            InvalidationMarks.InterlockedMax(ref _floorHard, Volatile.Read(ref mark.Hard));
            InvalidationMarks.InterlockedMax(ref _floorSoft, Volatile.Read(ref mark.Soft));
        }

        foreach ((string tag, _) in oldest)
        {
            _byTag.TryRemove(tag, out _);
        }
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
