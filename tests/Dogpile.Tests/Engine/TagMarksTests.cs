using Dogpile.Engine;
using Dogpile.Internal;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Engine;

/// <summary>Tag marks stay bounded: past their capacity the oldest fold into floors that still catch what they caught.</summary>
public sealed class TagMarksTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero));
    private readonly InvalidationMarks _region;
    private readonly TagMarks _tags;

    public TagMarksTests()
    {
        _region = new InvalidationMarks(new RegionClock(_time));
        _tags = new TagMarks(_region, capacity: 8);
    }

    [Fact]
    public void ManyTagsInvalidated_KeepsAtMostTheCapacity()
    {
        for (int i = 0; i < 100; i++)
        {
            Invalidate($"user:{i}", InvalidationMode.Hard);
        }

        Assert.InRange(_tags.Count, 1, _tags.Capacity);
    }

    [Fact]
    public void FoldedTag_EntriesCreatedBeforeItsMark_AreStillCaught()
    {
        CacheEntry early = Entry("user:0");
        Invalidate("user:0", InvalidationMode.Hard);
        Assert.True(_tags.Catches(early, early.TagArray!));

        // Enough newer invalidations to fold user:0's mark away.
        for (int i = 1; i < 40; i++)
        {
            Invalidate($"user:{i}", InvalidationMode.Hard);
        }

        Assert.True(_tags.Catches(early, early.TagArray!));
        Assert.True(_tags.HardOf(early.TagArray!) >= _tags.Get("user:0").HardUtcTicks);
        Assert.True(_tags.Get("user:0").HardUtcTicks >= early.CreatedUtcTicks);
    }

    [Fact]
    public void Folded_EntriesCreatedAfterTheFold_AreNotCaught()
    {
        for (int i = 0; i < 40; i++)
        {
            Invalidate($"user:{i}", InvalidationMode.Soft);
        }

        CacheEntry later = Entry("user:0", "other");
        Assert.False(_tags.Catches(later, later.TagArray!));
    }

    [Fact]
    public void Folded_UntaggedEntries_AreNeverCaught()
    {
        CacheEntry untagged = Entry();
        for (int i = 0; i < 40; i++)
        {
            Invalidate($"user:{i}", InvalidationMode.Hard);
        }

        Assert.Equal(0, _tags.HardOf([]));
        Assert.False(_tags.Catches(untagged, []));
    }

    private void Invalidate(string tag, InvalidationMode mode)
    {
        _time.Advance(TimeSpan.FromMilliseconds(1));
        _tags.Apply(tag, _tags.Next(tag, mode));
    }

    private CacheEntry Entry(params string[] tags)
    {
        _time.Advance(TimeSpan.FromMilliseconds(1));
        return new CacheEntry("v", _region.StampCreated(), TimeSpan.FromMinutes(5), TimeSpan.Zero) { TagArray = tags.Length == 0 ? null : tags };
    }
}
