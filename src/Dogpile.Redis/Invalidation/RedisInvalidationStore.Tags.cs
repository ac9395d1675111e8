using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// Tag marks: one hash per region (fields <c>h:{tag}</c>, <c>s:{tag}</c>; a script keeps the later mark), announced
/// with the stored marks on one channel. A subscriber loads every tag mark of its region when it starts and after the
/// subscription connection comes back, and applies each announcement as it arrives, so a reader knows a tag's mark
/// before it meets a value carrying the tag, as with region marks. Only invalidated tags are stored: the hash grows with
/// the distinct tags ever invalidated in the region, not with the tags on values.
/// </summary>
internal sealed partial class RedisInvalidationStore
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<TagSubscription, byte>> _tagSubscribers = new(StringComparer.Ordinal);

    public async ValueTask PublishTagAsync(string regionName, string tag, RegionInvalidation invalidation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(regionName);
        ArgumentNullException.ThrowIfNull(tag);
        RedisKeys keys = _connection.Keys;
        await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(
                Scripts.InvalidateTag,
                [keys.TagInvalidation(regionName)],
                [tag, invalidation.HardUtcTicks, invalidation.SoftUtcTicks, keys.TagInvalidatedChannel, regionName]),
            "tag invalidation publish",
            cancellationToken).ConfigureAwait(false);
    }

    public IDisposable SubscribeTags(string regionName, Action<string, RegionInvalidation> onChanged)
    {
        ArgumentNullException.ThrowIfNull(regionName);
        ArgumentNullException.ThrowIfNull(onChanged);
        var subscription = new TagSubscription(this, regionName, onChanged);
        _tagSubscribers.GetOrAdd(regionName, static _ => new()).TryAdd(subscription, 0);
        _ = StartTagsAsync(regionName);
        return subscription;
    }

    /// <summary>Loads every stored tag mark of a region (a subscriber's first load; also used by the admin and tests).</summary>
    public async ValueTask<IReadOnlyDictionary<string, RegionInvalidation>> LoadTagsAsync(string regionName, CancellationToken cancellationToken)
    {
        HashEntry[] fields = await _connection.RunAsync(db => db.HashGetAllAsync(_connection.Keys.TagInvalidation(regionName)), "tag invalidation load", cancellationToken).ConfigureAwait(false);
        var marks = new Dictionary<string, RegionInvalidation>(StringComparer.Ordinal);
        foreach (HashEntry field in fields)
        {
            string name = field.Name!;
            if (name.Length < 3 || name[1] != ':')
            {
                continue;
            }

            string tag = name[2..];
            long value = long.Parse((string)field.Value!, CultureInfo.InvariantCulture);
            marks.TryGetValue(tag, out RegionInvalidation current);
            marks[tag] = name[0] == 'h' ? current with { HardUtcTicks = value } : current with { SoftUtcTicks = value };
        }

        return marks;
    }

    private async Task StartTagsAsync(string regionName)
    {
        try
        {
            await _connection.EnsureSubscribedAsync(_connection.Keys.TagInvalidatedChannel, OnTagAnnounced).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Logged by the connection; the load below still runs, and reconnects re-load.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        await ReloadTagsAsync(regionName).ConfigureAwait(false);
    }

    private void ReloadAllTags()
    {
        foreach (string region in _tagSubscribers.Keys)
        {
            _ = StartTagsAsync(region);
        }
    }

    private async Task ReloadTagsAsync(string regionName)
    {
        if (!_tagSubscribers.TryGetValue(regionName, out ConcurrentDictionary<TagSubscription, byte>? subscribers) || subscribers.IsEmpty)
        {
            return;
        }

        IReadOnlyDictionary<string, RegionInvalidation> marks;
        try
        {
            marks = await LoadTagsAsync(regionName, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Eventually consistent, like region marks: the next announcement or reconnect loads again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.TagMarksLoadFailed(_logger, ex, regionName);
            return;
        }

        foreach (TagSubscription subscription in subscribers.Keys)
        {
            foreach (KeyValuePair<string, RegionInvalidation> mark in marks)
            {
                subscription.OnChanged(mark.Key, mark.Value);
            }
        }
    }

    private void OnTagAnnounced(RedisValue message)
    {
        if (!TryParseAnnouncement((byte[]?)message, out string? region, out string? tag, out RegionInvalidation marks))
        {
            Log.TagAnnouncementUnreadable(_logger);
            ReloadAllTags();
            return;
        }

        if (_tagSubscribers.TryGetValue(region, out ConcurrentDictionary<TagSubscription, byte>? subscribers))
        {
            foreach (TagSubscription subscription in subscribers.Keys)
            {
                subscription.OnChanged(tag, marks);
            }
        }
    }

    /// <summary>Reads "hard soft regionBytes region tag", as <see cref="Scripts.InvalidateTag"/> writes it.</summary>
    internal static bool TryParseAnnouncement(ReadOnlySpan<byte> message, out string region, out string tag, out RegionInvalidation marks)
    {
        region = tag = string.Empty;
        marks = default;
        long[] numbers = new long[3];
        for (int i = 0; i < 3; i++)
        {
            int space = message.IndexOf((byte)' ');
            if (space <= 0 || !long.TryParse(Encoding.ASCII.GetString(message[..space]), NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }

            message = message[(space + 1)..];
        }

        if (numbers[2] > message.Length)
        {
            return false;
        }

        region = Encoding.UTF8.GetString(message[..(int)numbers[2]]);
        tag = Encoding.UTF8.GetString(message[(int)numbers[2]..]);
        marks = new RegionInvalidation(numbers[0], numbers[1]);
        return tag.Length > 0;
    }

    private sealed class TagSubscription(RedisInvalidationStore store, string regionName, Action<string, RegionInvalidation> onChanged) : IDisposable
    {
        public Action<string, RegionInvalidation> OnChanged { get; } = onChanged;

        public void Dispose()
        {
            if (store._tagSubscribers.TryGetValue(regionName, out ConcurrentDictionary<TagSubscription, byte>? subscribers))
            {
                subscribers.TryRemove(this, out _);
            }
        }
    }
}
