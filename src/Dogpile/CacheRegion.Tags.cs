using System.Runtime.CompilerServices;
using Dogpile.Engine;
using Dogpile.Internal;

namespace Dogpile;

// Tags: per-tag invalidation marks, checked on read against the entry's created time, like the region's own marks.
public sealed partial class CacheRegion
{
    /// <summary>
    /// Invalidates every value carrying <paramref name="tag"/> (see <see cref="CacheEntryOptions.Tags"/>) created until
    /// now, in this process and, with an <see cref="CacheRegionOptions.InvalidationStore"/> that shares tags, in every
    /// process. Lazy: nothing is scanned or deleted; a tagged value is judged against the tag's mark when it is read.
    /// </summary>
    /// <param name="tag">The tag.</param>
    /// <param name="mode">Hard: older tagged values count as missing. Soft: they count as stale and are served while one refresh runs.</param>
    /// <param name="cancellationToken">Cancels the publication to other processes.</param>
    /// <returns>A task that completes when the invalidation is in force (and published).</returns>
    /// <exception cref="ArgumentException">The tag is not valid (see <see cref="CacheEntryOptions.Tags"/>).</exception>
    public async ValueTask InvalidateTagAsync(string tag, InvalidationMode mode = InvalidationMode.Hard, CancellationToken cancellationToken = default)
    {
        TagRules.Validate(tag, nameof(tag));
        RegionInvalidation marks = _tagMarks.Next(tag, mode);
        _tagMarks.Apply(tag, marks);
        Log.TagInvalidated(_logger, Name, tag, mode);
        if (_invalidationStore is not null)
        {
            await _invalidationStore.PublishTagAsync(Name, tag, marks, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The marks of one tag as this process knows them (for diagnostics and tests).</summary>
    internal RegionInvalidation TagMarksOf(string tag) => _tagMarks.Get(tag);

    /// <summary>
    /// The hit check of a tagged entry: none of its tags was invalidated since it was created. One compare while the
    /// entry is newer than every tag mark; a lookup per tag (at most <see cref="CacheEntryOptions.MaxTags"/>) otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TagsAllowHit(CacheEntry entry) => !_tagMarks.Catches(entry, entry.TagArray!);

    /// <summary>The hard mark that applies to the entry: the region's, or a later one of its tags.</summary>
    private long HardMarkOf(CacheEntry entry)
    {
        long hard = _marks.Hard;
        return entry.TagArray is { } tags && entry.CreatedUtcTicks <= _tagMarks.Latest ? Math.Max(hard, _tagMarks.HardOf(tags)) : hard;
    }

    /// <summary>The soft mark that applies to the entry: the region's, or a later one of its tags.</summary>
    private long SoftMarkOf(CacheEntry entry)
    {
        long soft = _marks.Soft;
        return entry.TagArray is { } tags && entry.CreatedUtcTicks <= _tagMarks.Latest ? Math.Max(soft, _tagMarks.SoftOf(tags)) : soft;
    }

    /// <summary>Why a stale entry is refreshed: a soft invalidation (of the region or a tag) caught it, or it expired.</summary>
    private RefreshReason ReasonFor(CacheEntry entry)
        => entry.CreatedUtcTicks <= SoftMarkOf(entry) ? RefreshReason.SoftInvalidated : RefreshReason.Expired;
}
