using BenchmarkDotNet.Attributes;

namespace Dogpile.Benchmarks;

/// <summary>
/// The waits a miss can cost, measured alone: a completed task awaited in line (the first caller of a miss runs its
/// creator in line), a creation started with <c>await Task.Yield()</c> that completes a
/// <see cref="TaskCompletionSource{T}"/> the caller awaits (two thread-pool hops; a caller served by another's creation
/// pays the second, being woken), and the same wait through <c>WaitAsync(lockTimeout, TimeProvider)</c> (a timer per wait). Also a
/// Dogpile hit on a stale value while its refresh is in flight, which goes through the slow path.
/// </summary>
[MemoryDiagnoser]
public class MissPathBreakdownBenchmarks
{
    private static readonly TimeSpan s_lockTimeout = TimeSpan.FromSeconds(30);
    private CacheRegion _stale = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Expires after 1 ms; the refresh it triggers never finishes, so every later read serves the stale value.
        _stale = new CacheRegion(new CacheRegionOptions { Name = "stale", Expiration = TimeSpan.FromMilliseconds(1), BackgroundRefresh = true });
        _stale.SetAsync("k", "stale value").AsTask().GetAwaiter().GetResult();
        Thread.Sleep(50);
        _ = StaleHit();
        Thread.Sleep(50);
    }

    // Not disposed: its refresh never completes, and the process ends with the run.
    [Benchmark(Baseline = true)]
    public async Task<string> InlineCompletedTcs()
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.TrySetResult("v");
        return await tcs.Task;
    }

    [Benchmark]
    public async Task<string> YieldThenAwaitTcs()
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Fly(tcs);
        return await tcs.Task;
    }

    [Benchmark]
    public async Task<string> YieldThenAwaitTcsWithTimeout()
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Fly(tcs);
        return await tcs.Task.WaitAsync(s_lockTimeout, TimeProvider.System);
    }

    [Benchmark]
    public string StaleHit()
    {
        ValueTask<string> read = _stale.GetOrCreateAsync("k", 0, static (_, ct) => new ValueTask<string>(Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => "fresh", TaskScheduler.Default)));
        return read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
    }

    private static async Task Fly(TaskCompletionSource<string> tcs)
    {
        await Task.Yield();
        tcs.TrySetResult("v");
    }
}
