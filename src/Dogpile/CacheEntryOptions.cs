namespace Dogpile;

/// <summary>Per-call settings; anything left unset falls back to the region's <see cref="CacheRegionOptions"/>.</summary>
public sealed class CacheEntryOptions
{
    /// <summary>Options that make a value never expire.</summary>
    public static CacheEntryOptions NeverExpire { get; } = new() { Expiration = CacheRegionOptions.NeverExpires };

    /// <summary>Overrides the region's expiration for values this call creates. <see cref="CacheRegionOptions.NeverExpires"/> for never.</summary>
    /// <value>Default: <see langword="null"/> (the region's).</value>
    public TimeSpan? Expiration { get; init; }

    /// <summary>
    /// Decides whether a created value is stored. A declined value is still returned to every caller waiting
    /// for it, but the next caller creates again (dogpile's <c>should_cache_fn</c>).
    /// </summary>
    /// <value>Default: <see langword="null"/> (store everything).</value>
    public Func<object?, bool>? ShouldCache { get; init; }

    /// <summary>The most tags one entry may carry.</summary>
    public const int MaxTags = Engine.TagRules.MaxTags;

    /// <summary>The longest a tag may be, in characters.</summary>
    public const int MaxTagLength = Engine.TagRules.MaxTagLength;

    /// <summary>
    /// Tags stored with values this call creates or sets; <see cref="CacheRegion.InvalidateTagAsync"/> invalidates every
    /// entry carrying a tag. Duplicates are dropped. Tags only label values when they are written: a call that finds a
    /// value keeps the tags it was stored with.
    /// </summary>
    /// <value>Default: <see langword="null"/> (no tags).</value>
    /// <exception cref="ArgumentException">More than <see cref="MaxTags"/> tags, or a tag that is null, blank, longer than
    /// <see cref="MaxTagLength"/>, holds a control character, or is <c>"*"</c> (reserved for "every entry").</exception>
    public IReadOnlyList<string>? Tags
    {
        get => TagArray;
        init => TagArray = Engine.TagRules.Normalize(value, nameof(Tags));
    }

    internal string[]? TagArray { get; private init; }
}
