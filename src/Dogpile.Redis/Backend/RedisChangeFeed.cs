using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// The change notices of one <see cref="DogpileRedis"/>: every write and removal publishes <c>k{origin}</c> and a
/// <see cref="ReleaseNotice"/> (the backend key, then the written entry's bytes when a single write of at most
/// <see cref="ReleaseNotice.MaxCarriedEntryBytes"/> carries them) on <c>{prefix}:changed</c>, in the same script or batch as
/// the write (no extra round trip), and every process applies the notices of the others to its near caches: the
/// carried entry replaces the held one, anything else evicts it. Its own notices are skipped: its regions updated
/// themselves.
/// </summary>
/// <remarks>
/// The feed counts as live only once a probe it published (<c>p{origin}{generation}</c>) came back on its own
/// subscription: from then on, no notice can be missed without the subscription connection failing. When it fails, the
/// observers are told at once (<see cref="ICacheChangeObserver.OnInterrupted"/>: notices may be lost from now on); when
/// it is restored, a new probe is sent and its return resumes them.
/// </remarks>
internal sealed class RedisChangeFeed : ICacheChangeFeed
{
    private const int OriginLength = 16;

    private readonly RedisConnection _connection;
    private readonly ILogger _logger;
    private readonly string _origin = Guid.NewGuid().ToString("N")[..OriginLength];
    private readonly Lock _gate = new();
    private ICacheChangeObserver[] _observers = [];
    private int _generation;
    private volatile bool _live;
    private int _started;

    public RedisChangeFeed(RedisConnection connection, ILogger logger)
    {
        _connection = connection;
        _logger = logger;
        Channel = connection.Keys.Prefix + ":changed";
        connection.Restored += () =>
        {
            if (Volatile.Read(ref _started) == 1)
            {
                _ = ConfirmAsync();
            }
        };
        connection.SubscriptionLost += Interrupt;
    }

    /// <summary>The channel the notices go on.</summary>
    public RedisValue Channel { get; }

    /// <summary>Whether the subscription is confirmed now (observers trust their entries for their freshness).</summary>
    public bool IsLive => _live;

    /// <summary>The notice of a change to <paramref name="backendKey"/>; a script may append the written entry's bytes.</summary>
    public RedisValue Notice(string backendKey)
    {
        byte[] head = ReleaseNotice.Head(backendKey);
        var notice = new byte[1 + OriginLength + head.Length];
        notice[0] = (byte)'k';
        System.Text.Encoding.ASCII.GetBytes(_origin, notice.AsSpan(1));
        head.CopyTo(notice, 1 + OriginLength);
        return notice;
    }

    public IDisposable Subscribe(ICacheChangeObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        bool live;
        lock (_gate)
        {
            _observers = [.. _observers, observer];
            live = _live;
        }

        if (live)
        {
            // It held nothing yet: it may trust what it reads from now on.
            observer.OnResumed();
        }

        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _ = ConfirmAsync();
        }

        return new Subscription(this, observer);
    }

    private void Interrupt()
    {
        _live = false;
        Interlocked.Increment(ref _generation);
        foreach (ICacheChangeObserver observer in Volatile.Read(ref _observers))
        {
            observer.OnInterrupted();
        }
    }

    /// <summary>Subscribes (if not yet), then publishes a probe until one returns, with a growing pause between tries.</summary>
    private async Task ConfirmAsync()
    {
        Interrupt();
        int generation = Volatile.Read(ref _generation);
        RedisValue probe = string.Concat("p", _origin, generation.ToString(CultureInfo.InvariantCulture));
        TimeSpan pause = TimeSpan.FromMilliseconds(100);
        while (!_connection.Closing.IsCancellationRequested && !_live && Volatile.Read(ref _generation) == generation)
        {
            try
            {
                await _connection.EnsureSubscribedAsync((string)Channel!, OnMessage).ConfigureAwait(false);
                await _connection.RunAsync(db => db.PublishAsync(RedisChannel.Literal((string)Channel!), probe), "PUBLISH (change feed probe)", _connection.Closing).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DogpileRedisUnavailableException || RedisConnection.IsUnavailable(ex))
            {
                Log.ChangeFeedProbeFailed(_logger, ex);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await Task.Delay(pause, _connection.Time, _connection.Closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.TicksPerSecond * 2));
        }
    }

    private void OnMessage(RedisValue message)
    {
        byte[]? bytes = message;
        if (bytes is null || bytes.Length <= 1 + OriginLength)
        {
            return;
        }

        bool own = System.Text.Encoding.ASCII.GetString(bytes, 1, OriginLength) == _origin;
        if (bytes[0] == 'p')
        {
            if (own && !_live
                && int.TryParse(bytes.AsSpan(1 + OriginLength), NumberStyles.None, CultureInfo.InvariantCulture, out int generation)
                && generation == Volatile.Read(ref _generation))
            {
                _live = true;
                foreach (ICacheChangeObserver observer in Volatile.Read(ref _observers))
                {
                    observer.OnResumed();
                }
            }

            return;
        }

        if (bytes[0] != 'k' || own)
        {
            return;
        }

        string key = ReleaseNotice.Read(bytes.AsSpan(1 + OriginLength).ToArray(), out ReadOnlyMemory<byte> carried);
        foreach (ICacheChangeObserver observer in Volatile.Read(ref _observers))
        {
            // Each region gets an entry of its own: a region memoizes its decoded value (and early-refresh point) on it.
            observer.OnChanged(key, !carried.IsEmpty && CacheEntry.TryFromBytes(carried, out CacheEntry? entry) ? entry : null);
        }
    }

    private void Remove(ICacheChangeObserver observer)
    {
        lock (_gate)
        {
            _observers = Array.FindAll(_observers, o => !ReferenceEquals(o, observer));
        }
    }

    private sealed class Subscription(RedisChangeFeed feed, ICacheChangeObserver observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                feed.Remove(observer);
            }
        }
    }
}
