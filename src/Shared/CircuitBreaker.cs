using System.Runtime.CompilerServices;

namespace Dogpile.Internal;

/// <summary>Whether a call may go to the backend (<see cref="CircuitBreaker.TryEnter"/>).</summary>
internal enum BreakerAdmission
{
    /// <summary>The breaker is closed: go ahead.</summary>
    Allowed,

    /// <summary>The breaker is open and its interval has passed: this call is the one probe.</summary>
    Probe,

    /// <summary>The breaker is open: fail at once, without touching the network.</summary>
    Rejected,
}

/// <summary>What a health check or a metric reads of a breaker.</summary>
internal enum BreakerState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>
/// One connection's circuit breaker. After a failure, calls are rejected at once for an interval that starts at the
/// minimum and doubles with every failed probe up to the maximum; when it has passed, one call at a time goes through as
/// a probe (the others are still rejected, without waiting), and the first success closes the breaker and resets the
/// interval. So while a server is down no caller waits for a timeout, and a recovered server is found within one
/// interval. All time through the <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Shared as source by the adapters (Dogpile.Redis, Dogpile.Memcached), so it adds nothing to the core's public surface.
/// The closed path, taken by every call while the backend is healthy, is one volatile read on entry and one on success.
/// </remarks>
internal sealed class CircuitBreaker
{
    private readonly TimeProvider _time;
    private readonly long _minInterval;
    private readonly long _maxInterval;
    private readonly Lock _lock = new();
    private volatile bool _closed = true;
    private bool _probing;
    private long _interval;
    private long _retryAt;
    private long _openedAt;
    private long _timesOpened;
    private Exception? _lastFailure;

    public CircuitBreaker(TimeSpan minInterval, TimeSpan maxInterval, TimeProvider time)
    {
        _time = time;
        MinInterval = minInterval < maxInterval ? minInterval : maxInterval;
        MaxInterval = maxInterval;
        _minInterval = ToTimestamp(MinInterval);
        _maxInterval = ToTimestamp(maxInterval);
    }

    /// <summary>The first open interval after a failure.</summary>
    public TimeSpan MinInterval { get; }

    /// <summary>The longest open interval: a recovered server is probed within it.</summary>
    public TimeSpan MaxInterval { get; }

    /// <summary>Raised (outside the breaker's lock) when the breaker opens after having been closed.</summary>
    public event Action<Exception>? Opened;

    /// <summary>Raised when a success closes an open breaker; the argument is how long it was open.</summary>
    public event Action<TimeSpan>? Closed;

    public bool IsClosed
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _closed;
    }

    public BreakerState State
    {
        get
        {
            if (_closed)
            {
                return BreakerState.Closed;
            }

            lock (_lock)
            {
                return _closed ? BreakerState.Closed : _probing || _time.GetTimestamp() >= _retryAt ? BreakerState.HalfOpen : BreakerState.Open;
            }
        }
    }

    /// <summary>How many times the breaker opened (from closed) since it was created.</summary>
    public long TimesOpened => Interlocked.Read(ref _timesOpened);

    /// <summary>The failure that opened (or kept open) the breaker; <see langword="null"/> once closed.</summary>
    public Exception? LastFailure
    {
        get
        {
            lock (_lock)
            {
                return _closed ? null : _lastFailure;
            }
        }
    }

    /// <summary>How long the breaker has been open; zero when closed.</summary>
    public TimeSpan OpenFor
    {
        get
        {
            lock (_lock)
            {
                return _closed ? TimeSpan.Zero : _time.GetElapsedTime(_openedAt);
            }
        }
    }

    /// <summary>How long until the next probe may go through; zero when closed or when one may go now.</summary>
    public TimeSpan RetryIn
    {
        get
        {
            lock (_lock)
            {
                long left = _closed ? 0 : _retryAt - _time.GetTimestamp();
                return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / _time.TimestampFrequency);
            }
        }
    }

    /// <summary>Whether this call may go to the backend; a <see cref="BreakerAdmission.Probe"/> must end in one of the On* calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BreakerAdmission TryEnter() => _closed ? BreakerAdmission.Allowed : TryEnterOpen();

    /// <summary>The call succeeded: the backend answers, so the breaker closes (nothing to do when it is closed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnSuccess(BreakerAdmission admission)
    {
        if (!_closed || admission == BreakerAdmission.Probe)
        {
            Close();
        }
    }

    /// <summary>
    /// The call failed as unavailable. A failed probe doubles the interval (up to the maximum); a failure while closed opens
    /// the breaker for the minimum; a call admitted before the breaker opened changes nothing more.
    /// </summary>
    /// <returns>Whether this failure opened a closed breaker.</returns>
    public bool OnFailure(BreakerAdmission admission, Exception cause)
    {
        bool opened = false;
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            if (admission == BreakerAdmission.Probe)
            {
                _probing = false;
                _interval = Math.Min(_interval * 2, _maxInterval);
            }
            else if (_closed)
            {
                _interval = _minInterval;
                _openedAt = now;
                _timesOpened++;
                opened = true;
            }
            else
            {
                _lastFailure = cause;
                return false;
            }

            _lastFailure = cause;
            _retryAt = now + _interval;
            _closed = false;
        }

        if (opened)
        {
            Opened?.Invoke(cause);
        }

        return opened;
    }

    /// <summary>The call ended in a way that says nothing about the backend (cancelled, or a bug): a probe gives its turn back.</summary>
    public void OnAbandoned(BreakerAdmission admission)
    {
        if (admission == BreakerAdmission.Probe)
        {
            lock (_lock)
            {
                _probing = false;
            }
        }
    }

    /// <summary>The connection says it is back (a reconnect): the next call probes at once instead of waiting out the interval.</summary>
    public void ProbeNow()
    {
        if (_closed)
        {
            return;
        }

        lock (_lock)
        {
            _retryAt = Math.Min(_retryAt, _time.GetTimestamp());
        }
    }

    private BreakerAdmission TryEnterOpen()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return BreakerAdmission.Allowed;
            }

            if (_probing || _time.GetTimestamp() < _retryAt)
            {
                return BreakerAdmission.Rejected;
            }

            _probing = true;
            return BreakerAdmission.Probe;
        }
    }

    private void Close()
    {
        TimeSpan wasOpen;
        lock (_lock)
        {
            if (_closed)
            {
                _probing = false;
                return;
            }

            wasOpen = _time.GetElapsedTime(_openedAt);
            _closed = true;
            _probing = false;
            _interval = 0;
            _lastFailure = null;
        }

        Closed?.Invoke(wasOpen);
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
