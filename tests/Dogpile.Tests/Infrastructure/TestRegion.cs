using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Tests.Infrastructure;

/// <summary>A region on a fake clock and a memory backend sharing it, so every time-based rule is driven by Advance.</summary>
internal sealed class TestRegion : IAsyncDisposable
{
    public TestRegion(Action<CacheRegionOptions>? configure = null, ICacheBackend? backend = null)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        Backend = backend ?? new MemoryCacheBackend(1000, Time);
        var options = new CacheRegionOptions
        {
            Name = "test",
            Backend = Backend,
            Expiration = TimeSpan.FromMinutes(1),
            StaleWindow = TimeSpan.FromMinutes(10),
        };
        configure?.Invoke(options);
        Region = new CacheRegion(options, Time);
    }

    public FakeTimeProvider Time { get; }

    public ICacheBackend Backend { get; }

    public CacheRegion Region { get; }

    public ValueTask DisposeAsync() => Region.DisposeAsync();
}

/// <summary>A creator that counts its calls and can be held open until released.</summary>
internal sealed class ControlledCreator<T>(Func<int, T> produce)
{
    private TaskCompletionSource _release = NewGate(open: true);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public TaskCompletionSource Started { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Exception? FailWith { get; set; }

    /// <summary>Makes the next calls wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        _release = NewGate(open: false);
        Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release() => _release.TrySetResult();

    public async ValueTask<T> CreateAsync(CancellationToken cancellationToken)
    {
        int call = Interlocked.Increment(ref _calls);
        Started.TrySetResult();
        await _release.Task.WaitAsync(cancellationToken);
        if (FailWith is { } failure)
        {
            throw failure;
        }

        return produce(call);
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }
}
