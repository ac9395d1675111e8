using System.Collections.Concurrent;
using Dogpile.Redis.Internal;
using StackExchange.Redis;

namespace Dogpile.Redis;

// Taking jobs: over from dead (or failed) consumers with XAUTOCLAIM, and onto a free slot.
internal sealed partial class RedisRefreshWorker
{
    private async Task ClaimIdleAsync(CancellationToken cancellationToken)
    {
        int free = _slots.CurrentCount;
        if (free == 0)
        {
            return;
        }

        StreamAutoClaimResult claimed = await _connection.RunAsync(
            db => db.StreamAutoClaimAsync(_connection.Keys.JobStream, _queue.Group, ConsumerName, (long)_options.MinIdleTime.TotalMilliseconds, "0-0", free),
            "XAUTOCLAIM",
            cancellationToken).ConfigureAwait(false);
        StreamEntry[] entries = claimed.ClaimedEntries.Where(e => !e.IsNull).ToArray();
        if (entries.Length == 0)
        {
            return;
        }

        // How often each was delivered: a job that kills its worker every time never fails "properly", so it is
        // dead-lettered once delivered more often than the attempts allow.
        StreamPendingMessageInfo[] pending = await _connection.RunAsync(
            db => db.StreamPendingMessagesAsync(_connection.Keys.JobStream, _queue.Group, entries.Length + _options.MaxConcurrency, ConsumerName, entries[0].Id, entries[^1].Id),
            "XPENDING",
            cancellationToken).ConfigureAwait(false);
        Dictionary<string, int> deliveries = pending.ToDictionary(p => (string)p.MessageId!, p => p.DeliveryCount, StringComparer.Ordinal);
        int count = 0;
        foreach (StreamEntry entry in entries)
        {
            if (await DispatchAsync(entry, deliveries.GetValueOrDefault((string)entry.Id!, 0), cancellationToken).ConfigureAwait(false))
            {
                count++;
            }
        }

        if (count > 0)
        {
            _queue.CountReclaimed(count);
            Log.JobsReclaimed(_logger, ConsumerName, count);
        }
    }

    /// <summary>Starts the job on a free slot; <see langword="false"/> when this worker is already handling it.</summary>
    private async Task<bool> DispatchAsync(StreamEntry entry, int deliveries, CancellationToken cancellationToken)
    {
        string entryId = (string)entry.Id!;
        long claimed = _time.GetTimestamp();
        if (!_running.TryAdd(entryId, 0))
        {
            // XAUTOCLAIM handed back a job this worker is still handling (a beat came late): it must not run twice.
            return false;
        }

        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _running.TryRemove(entryId, out _);
            throw;
        }

        Task job = Task.Run(async () =>
        {
            // From the first moment: checking and dead-lettering a large job can take a while too.
            using ITimer heartbeat = _time.CreateTimer(static state => ((JobHeartbeat)state!).Beat(), new JobHeartbeat(this, entryId), HeartbeatPeriod, HeartbeatPeriod);
            try
            {
                await ProcessAsync(entry, deliveries, claimed, _jobs.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A bug in one job's handling must not fault the worker: the job stays pending and is handled again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.WorkerLoopFailed(_logger, ex);
            }
            finally
            {
                _running.TryRemove(entryId, out _);
                _slots.Release();
            }
        }, CancellationToken.None);
        _inFlight.TryAdd(job, 0);
        _ = job.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return true;
    }
}
