using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dogpile.Redis.Internal;

/// <summary>
/// The change notices of one <see cref="DogpileRedis"/>: every write and removal publishes <c>k{origin}{backend key}</c>
/// on <c>{prefix}:changed</c> (in the same script or batch as the write: no extra round trip), and every process applies
/// the notices of the others to its near caches. Its own notices are skipped: its regions updated themselves.
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
        connection.Restored += () => _ = ConfirmAsync();
        connection.SubscriptionLost += Interrupt;
    }

    /// <summary>The channel the notices go on.</summary>
    public RedisValue Channel { get; }

    /// <summary>Whether the subscription is confirmed now (observers trust their entries for their freshness).</summary>
    public bool IsLive => _live;

    /// <summary>The notice of a change to <paramref name="backendKey"/>.</summary>
    public RedisValue Notice(string backendKey) => string.Concat("k", _origin, backendKey);

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
        string? text = message;
        if (text is null || text.Length <= OriginLength)
        {
            return;
        }

        bool own = string.CompareOrdinal(text, 1, _origin, 0, OriginLength) == 0;
        if (text[0] == 'p')
        {
            if (own && !_live
                && int.TryParse(text.AsSpan(1 + OriginLength), NumberStyles.None, CultureInfo.InvariantCulture, out int generation)
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

        if (text[0] != 'k' || own)
        {
            return;
        }

        string key = text[(1 + OriginLength)..];
        foreach (ICacheChangeObserver observer in Volatile.Read(ref _observers))
        {
            observer.OnChanged(key);
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
