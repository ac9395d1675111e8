using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>
/// A miss on the memory backend runs its creation in line (no async state machine of its own). These pin down that it
/// keeps dogpile's rules at each point where it hands over to the general path.
/// </summary>
public sealed class InLineMissTests
{
    [Fact]
    public async Task Miss_SynchronousCreator_CompletesSynchronouslyAndStores()
    {
        await using var t = new TestRegion();
        int calls = 0;

        ValueTask<string> miss = t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>($"v{++calls}"));

        Assert.True(miss.IsCompletedSuccessfully);
        Assert.Equal("v1", miss.Result);
        Assert.Equal("v1", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>($"v{++calls}")));
        Assert.Equal(1, calls);
        Assert.Equal(1, t.Region.GetStatistics().Misses);
    }

    [Fact]
    public async Task Miss_CallerArrivesWhileSynchronousCreatorRuns_JoinsItAndCreatorRunsOnce()
    {
        await using var t = new TestRegion();
        using var inCreator = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int calls = 0;
        ValueTask<string> Create(CancellationToken _)
        {
            int call = Interlocked.Increment(ref calls);
            inCreator.Set();
            release.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
            return new ValueTask<string>($"v{call}");
        }

        // The first caller's creator blocks its thread synchronously, as a synchronous creator does.
        Task<string> first = Task.Run(async () => await t.Region.GetOrCreateAsync("k", Create));
        Assert.True(inCreator.Wait(TimeSpan.FromSeconds(10)));
        Task<string> second = t.Region.GetOrCreateAsync("k", Create).AsTask();
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        release.Set();

        Assert.Equal("v1", await first);
        Assert.Equal("v1", await second);
        Assert.Equal(1, calls);
        Assert.Equal(1, t.Region.GetStatistics().LockWaits);
    }

    [Fact]
    public async Task Miss_SynchronousCreatorThrows_CallerGetsTheExceptionAndTheKeyIsNotLeftLocked()
    {
        await using var t = new TestRegion();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            async () => await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("upstream down")));
        Assert.Equal("upstream down", error.Message);

        // No flight or gate survives the failure: the next caller creates at once.
        ValueTask<string> next = t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v"));
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal("v", next.Result);
    }

    [Fact]
    public async Task Miss_WhileABatchCreationHoldsTheKey_WaitsForItInsteadOfCreatingAgain()
    {
        await using var t = new TestRegion();
        var batchRelease = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batchStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int singleCalls = 0;

        ValueTask<string[]> batch = t.Region.GetOrCreateManyAsync<string>(["k"], async (keys, _) =>
        {
            batchStarted.TrySetResult();
            await batchRelease.Task;
            return ["from batch"];
        });
        await batchStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        ValueTask<string> single = t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>($"single {++singleCalls}"));
        Assert.False(single.IsCompleted);

        batchRelease.SetResult();

        Assert.Equal(["from batch"], await batch);
        Assert.Equal("from batch", await single);
        Assert.Equal(0, singleCalls);
    }

    [Fact]
    public async Task Miss_CreatorGoesAsynchronousAndTheFirstCallerLeaves_OthersStillGetTheValue()
    {
        await using var t = new TestRegion();
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken creationToken = default;
        using var firstCaller = new CancellationTokenSource();

        ValueTask<string> first = t.Region.GetOrCreateAsync("k", ct =>
        {
            creationToken = ct;
            return new ValueTask<string>(release.Task);
        }, cancellationToken: firstCaller.Token);
        ValueTask<string> second = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("a second creator ran"));

        await firstCaller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await first);
        Assert.False(creationToken.IsCancellationRequested);

        release.SetResult("v");
        Assert.Equal("v", await second);
        Assert.Equal("v", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("not stored")));
    }

    [Fact]
    public async Task Miss_CreatorGoesAsynchronousAndItsOnlyCallerLeaves_TheCreationIsCancelled()
    {
        await using var t = new TestRegion();
        CancellationToken creationToken = default;
        using var caller = new CancellationTokenSource();

        ValueTask<string> only = t.Region.GetOrCreateAsync("k", async ct =>
        {
            creationToken = ct;
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return "never";
        }, cancellationToken: caller.Token);

        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await only);

        // The caller leaves its place before its wait ends: by then the creation it alone waited for is cancelled.
        Assert.True(creationToken.IsCancellationRequested);
    }
}
