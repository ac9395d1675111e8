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
        RegionInvalidation marks = _context.TagMarks.Next(tag, mode);
        _context.TagMarks.Apply(tag, marks);
        Log.TagInvalidated(_context.Logger, Name, tag, mode);
        if (_context.InvalidationStore is { } store)
        {
            await store.PublishTagAsync(Name, tag, marks, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The marks of one tag as this process knows them (for diagnostics and tests).</summary>
    internal RegionInvalidation TagMarksOf(string tag) => _context.TagMarks.Get(tag);

    /// <summary>How many tags' marks are kept one by one (bounded, see <see cref="TagMarks"/>).</summary>
    internal int TagMarkCount => _context.TagMarks.Count;
}
