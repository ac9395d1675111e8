using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dogpile.Redis.Internal;

/// <summary>
/// Locks that may exist in Redis although no handle holds them: an acquire that got no answer (Redis may still run it:
/// after a freeze, a stopped server runs the scripts queued on its socket, setting a lock whose token nobody knows) and
/// a release that failed. Each is released by compare-and-delete on its own token once Redis answers again, so such a
/// lock lives until Redis is back instead of for a whole lease, and can never delete another owner's lock.
/// </summary>
/// <remarks>
/// <para>Ordering: the release goes out on the same interactive connection as the acquire, behind it, so Redis runs it
/// after the acquire; should the client have replaced that connection meanwhile, the new one's handshake completes only
/// once Redis runs again, that is after it has read what the old socket held.</para>
/// <para>Bounded: at most <see cref="Capacity"/> tokens, each dropped once answered, or after the window (twice the
/// lease: an acquire still unrun by then leaves a lock for at most one lease after Redis resumes, as before); one
/// drain loop per process, which tries one release while Redis fails, all of them once one succeeds, and backs off
/// from 100 ms to 1 s between rounds. Nothing runs while nothing is pending.</para>
/// </remarks>
internal sealed class PendingLockReleases
{
    /// <summary>The most tokens held; past it, a lock is left to its lease (and logged).</summary>
    public const int Capacity = 10_000;

    private const int ParallelReleases = 256;
    private static readonly TimeSpan MinRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<(string Key, string Token), long> _pending = new();
    private readonly Func<string, string, CancellationToken, ValueTask> _release;
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private readonly CancellationToken _closing;
    private readonly ILogger _logger;
    private int _draining;
    private Task _drain = Task.CompletedTask;

    /// <param name="release">The compare-and-delete release of a key's lock by a token (it must not add to this set).</param>
    /// <param name="window">How long a token is retried at most.</param>
    /// <param name="time">The clock of the window and the back-off.</param>
    /// <param name="logger">Where to log what is given up.</param>
    /// <param name="closing">Cancelled when the connection closes: the loop stops.</param>
    public PendingLockReleases(Func<string, string, CancellationToken, ValueTask> release, TimeSpan window, TimeProvider time, ILogger logger, CancellationToken closing)
    {
        _release = release;
        _time = time;
        _windowTicks = (long)(window.TotalSeconds * time.TimestampFrequency);
        _closing = closing;
        _logger = logger;
    }

    /// <summary>How many tokens wait for their release.</summary>
    public int Count => _pending.Count;

    /// <summary>The current drain loop (completed when none runs); for tests.</summary>
    internal Task Drain => Volatile.Read(ref _drain);

    /// <summary>Releases the key's lock by this token once Redis answers.</summary>
    public void Add(string key, string token)
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        if (_pending.Count >= Capacity)
        {
            Log.PendingReleasesFull(_logger, key, Capacity);
            return;
        }

        _pending[(key, token)] = _time.GetTimestamp() + _windowTicks;
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            Volatile.Write(ref _drain, Task.Run(DrainAsync, CancellationToken.None));
        }
    }

    private async Task DrainAsync()
    {
        TimeSpan retry = MinRetry;
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                DropExpired();
                if (_pending.IsEmpty)
                {
                    Volatile.Write(ref _draining, 0);

                    // An Add between the check and the reset saw the loop running: take it back if so.
                    if (_pending.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
                    {
                        return;
                    }

                    continue;
                }

                // One first: while Redis is down or frozen, one call waits for it, not every pending one.
                bool all = await TryReleaseAsync(_pending.Keys.First()).ConfigureAwait(false);
                if (all)
                {
                    foreach ((string Key, string Token)[] batch in _pending.Keys.Chunk(ParallelReleases))
                    {
                        bool[] done = await Task.WhenAll(batch.Select(pending => TryReleaseAsync(pending))).ConfigureAwait(false);
                        all &= Array.TrueForAll(done, released => released);
                    }
                }

                if (all)
                {
                    retry = MinRetry;
                }
                else
                {
                    await Task.Delay(retry, _time, _closing).ConfigureAwait(false);
                    retry = retry * 2 < MaxRetry ? retry * 2 : MaxRetry;
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            // Closing: what is left ends with its lease.
        }
#pragma warning disable CA1031 // A background loop must not crash the process; what is left ends with its lease.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.PendingReleasesStopped(_logger, ex, _pending.Count);
            _pending.Clear();
            Volatile.Write(ref _draining, 0);
        }
    }

    /// <summary>One release; true when Redis answered (the token is then done), false to try again.</summary>
    private async Task<bool> TryReleaseAsync((string Key, string Token) pending)
    {
        try
        {
            await _release(pending.Key, pending.Token, _closing).ConfigureAwait(false);
        }
        catch (DogpileRedisUnavailableException)
        {
            return false;
        }
#pragma warning disable CA1031 // Redis answered with an error: retrying would not help; the lease ends the lock.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            Log.PendingReleaseFailed(_logger, ex, pending.Key);
        }

        _pending.TryRemove(pending, out _);
        return true;
    }

    private void DropExpired()
    {
        long now = _time.GetTimestamp();
        foreach (KeyValuePair<(string Key, string Token), long> pending in _pending)
        {
            if (pending.Value <= now && _pending.TryRemove(pending))
            {
                Log.PendingReleaseGivenUp(_logger, pending.Key.Key);
            }
        }
    }
}
