using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Dogpile.Internal;

/// <summary>
/// The default runner: a fixed number of workers over a bounded queue. When the queue is full the refresh is
/// refused (the region releases the lock and counts a skip): the seed's outage came from unbounded threads.
/// </summary>
internal sealed class BoundedRefreshRunner : IRefreshRunner, IAsyncDisposable
{
    private readonly Channel<RefreshRequest> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private readonly ILogger _logger;
    private int _running;
    private int _queued;

    public BoundedRefreshRunner(int maxConcurrency, int backlog, ILogger logger)
    {
        _logger = logger;
        // A backlog of 0 means "only as many as can run now": the workers' own reads are the only buffer.
        _queue = Channel.CreateBounded<RefreshRequest>(new BoundedChannelOptions(Math.Max(1, backlog))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = maxConcurrency == 1,
        });
        _workers = new Task[maxConcurrency];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = Task.Run(WorkAsync);
        }
    }

    public int Running => Volatile.Read(ref _running);

    public int Queued => Volatile.Read(ref _queued);

    public ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queued);
        if (_queue.Writer.TryWrite(request))
        {
            return new ValueTask<bool>(true);
        }

        Interlocked.Decrement(ref _queued);
        return new ValueTask<bool>(false);
    }

    private async Task WorkAsync()
    {
        try
        {
            await foreach (RefreshRequest request in _queue.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                Interlocked.Decrement(ref _queued);
                if (_stopping.IsCancellationRequested)
                {
                    // ReadAllAsync drains buffered items without looking at the token: drop them, releasing their locks.
                    await request.ReleaseAsync().ConfigureAwait(false);
                    continue;
                }

                Interlocked.Increment(ref _running);
                try
                {
                    await request.RunAsync(_stopping.Token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // A worker must survive any one refresh; the region already logged the cause.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Log.RunnerRefreshThrew(_logger, ex, request.RegionName, request.Key);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down: the queued requests are released below.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers).ConfigureAwait(false);
        while (_queue.Reader.TryRead(out RefreshRequest? request))
        {
            Interlocked.Decrement(ref _queued);
            await request.ReleaseAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }
}
