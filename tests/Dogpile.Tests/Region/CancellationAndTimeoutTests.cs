using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

public sealed class CancellationAndTimeoutTests
{
    [Fact]
    public async Task CallerCancellation_CancelsOnlyThatCallersWait()
    {
        await using var t = new TestRegion();
        var creator = new ControlledCreator<string>(_ => "v");
        creator.Hold();
        using var impatient = new CancellationTokenSource();

        Task<string> cancelled = t.Region.GetOrCreateAsync("k", creator.CreateAsync, cancellationToken: impatient.Token).AsTask();
        Task<string> patient = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;
        await impatient.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(patient.IsCompleted);
        creator.Release();
        Assert.Equal("v", await patient);
        Assert.Equal(1, creator.Calls);
    }

    [Fact]
    public async Task EveryWaiterCancelled_SharedCreationIsCancelled()
    {
        await using var t = new TestRegion();
        var creatorToken = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        async ValueTask<string> Create(CancellationToken ct)
        {
            creatorToken.SetResult(ct);
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        }

        Task<string> a = t.Region.GetOrCreateAsync("k", Create, cancellationToken: first.Token).AsTask();
        Task<string> b = t.Region.GetOrCreateAsync("k", Create, cancellationToken: second.Token).AsTask();
        CancellationToken shared = await creatorToken.Task;
        await first.CancelAsync();
        Assert.False(shared.IsCancellationRequested);
        await second.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        Assert.True(shared.IsCancellationRequested);

        // The key is free again: a new caller creates normally.
        Assert.Equal("v", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v")));
    }

    [Fact]
    public async Task LockWaitTimeout_ClearExceptionAndNeverASecondCreator()
    {
        await using var t = new TestRegion(o => o.LockTimeout = TimeSpan.FromSeconds(5));
        var creator = new ControlledCreator<string>(_ => "slow");
        creator.Hold();

        Task<string> first = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        await creator.Started.Task;
        Task<string> second = t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask();
        t.Time.Advance(TimeSpan.FromSeconds(6));

        CacheLockTimeoutException timeout = await Assert.ThrowsAsync<CacheLockTimeoutException>(() => second);
        Assert.Equal("k", timeout.Key);
        Assert.Contains("No second creator", timeout.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<CacheLockTimeoutException>(() => first);
        Assert.Equal(1, creator.Calls);
        Assert.Equal(2, t.Region.GetStatistics().LockTimeouts);

        // The creation was cancelled (every waiter left); a new caller can create.
        creator.Release();
        Assert.Equal("slow", await t.Region.GetOrCreateAsync("k", creator.CreateAsync));
    }
}
