using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// Region invalidation marks in one Redis hash per region (<c>hard</c>, <c>soft</c>; a script keeps the later of old and
/// new), announced on one channel. Subscribers load the marks when they start, on every announcement, and after the
/// subscription connection comes back (announcements sent while it was down are not replayed, so it re-loads).
/// </summary>
internal sealed partial class RedisInvalidationStore : IInvalidationStore
{
    private readonly RedisConnection _connection;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Subscription, byte>> _subscribers = new(StringComparer.Ordinal);

    public RedisInvalidationStore(RedisConnection connection, ILogger logger)
    {
        _connection = connection;
        _logger = logger;
        connection.Restored += ReloadAll;
        connection.Restored += ReloadAllTags;
    }

    public async ValueTask PublishAsync(string regionName, RegionInvalidation invalidation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(regionName);
        RedisKeys keys = _connection.Keys;
        await _connection.RunAsync(
            db => db.ScriptEvaluateAsync(
                Scripts.Invalidate,
                [keys.Invalidation(regionName)],
                [invalidation.HardUtcTicks, invalidation.SoftUtcTicks, keys.InvalidatedChannel, regionName]),
            "invalidation publish",
            cancellationToken).ConfigureAwait(false);
    }

    public IDisposable Subscribe(string regionName, Action<RegionInvalidation> onChanged)
    {
        ArgumentNullException.ThrowIfNull(regionName);
        ArgumentNullException.ThrowIfNull(onChanged);
        var subscription = new Subscription(this, regionName, onChanged);
        _subscribers.GetOrAdd(regionName, static _ => new()).TryAdd(subscription, 0);
        _ = StartAsync(regionName);
        return subscription;
    }

    /// <summary>Loads the stored marks of a region now (a subscriber's first load; also used by tests).</summary>
    public async ValueTask<RegionInvalidation> LoadAsync(string regionName, CancellationToken cancellationToken)
    {
        HashEntry[] fields = await _connection.RunAsync(db => db.HashGetAllAsync(_connection.Keys.Invalidation(regionName)), "invalidation load", cancellationToken).ConfigureAwait(false);
        long hard = 0, soft = 0;
        foreach (HashEntry field in fields)
        {
            long value = long.Parse((string)field.Value!, CultureInfo.InvariantCulture);
            if (field.Name == "hard")
            {
                hard = value;
            }
            else if (field.Name == "soft")
            {
                soft = value;
            }
        }

        return new RegionInvalidation(hard, soft);
    }

    private async Task StartAsync(string regionName)
    {
        try
        {
            await _connection.EnsureSubscribedAsync(_connection.Keys.InvalidatedChannel, message => _ = ReloadAsync((string)message!)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Logged by the connection; the load below still runs, and reconnects re-load.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        await ReloadAsync(regionName).ConfigureAwait(false);
    }

    private void ReloadAll()
    {
        foreach (string region in _subscribers.Keys)
        {
            _ = StartAsync(region);
        }
    }

    private async Task ReloadAsync(string regionName)
    {
        if (!_subscribers.TryGetValue(regionName, out ConcurrentDictionary<Subscription, byte>? subscribers) || subscribers.IsEmpty)
        {
            return;
        }

        RegionInvalidation marks;
        try
        {
            marks = await LoadAsync(regionName, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Invalidation is eventually consistent: the next message or reconnect loads again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.InvalidationLoadFailed(_logger, ex, regionName);
            return;
        }

        foreach (Subscription subscription in subscribers.Keys)
        {
            subscription.OnChanged(marks);
        }
    }

    private sealed class Subscription(RedisInvalidationStore store, string regionName, Action<RegionInvalidation> onChanged) : IDisposable
    {
        public Action<RegionInvalidation> OnChanged { get; } = onChanged;

        public void Dispose()
        {
            if (store._subscribers.TryGetValue(regionName, out ConcurrentDictionary<Subscription, byte>? subscribers))
            {
                subscribers.TryRemove(this, out _);
            }
        }
    }
}
