using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>On a remote backend, concurrent first reads of one key share one backend read.</summary>
public sealed class SharedReadTests
{
    /// <summary>A remote-like backend whose reads wait until the returned source is completed.</summary>
    private static (ChaosBackend Remote, TaskCompletionSource SlowRead) SlowRemote()
    {
        var slowRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System)) { BeforeRead = () => slowRead.Task }, slowRead);
    }

    [Fact]
    public async Task ColdKey_ConcurrentCallers_ShareOneFirstRead_ThenOneRereadUnderTheLock()
    {
        (ChaosBackend remote, TaskCompletionSource slowRead) = SlowRemote();
        await using var t = new TestRegion(backend: remote);
        var creator = new ControlledCreator<string>(_ => "v");
        creator.Hold();

        Task<string>[] callers = Enumerable.Range(0, 50).Select(_ => t.Region.GetOrCreateAsync("k", creator.CreateAsync).AsTask()).ToArray();
        Assert.Equal(1, remote.Reads);
        slowRead.SetResult();
        await creator.Started.Task;
        await Eventually.TrueAsync(() => t.Region.GetStatistics().LockWaits == 49, "every other caller joins the creation");
        creator.Release();

        Assert.All(await Task.WhenAll(callers), v => Assert.Equal("v", v));
        Assert.Equal(1, creator.Calls);
        Assert.Equal(2, remote.Reads);
    }

    [Fact]
    public async Task SharedRead_OneCallerCancels_OthersStillGetTheValue()
    {
        (ChaosBackend remote, TaskCompletionSource slowRead) = SlowRemote();
        await using var t = new TestRegion(backend: remote);
        await t.Region.SetAsync("k", "stored");
        using var impatient = new CancellationTokenSource();

        Task<string> first = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run"), cancellationToken: impatient.Token).AsTask();
        Task<string> second = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")).AsTask();
        await impatient.CancelAsync();
        slowRead.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal("stored", await second);
        Assert.Equal(1, remote.Reads);
    }

    [Fact]
    public async Task SharedRead_AJoinerCancels_TheCallerThatStartedItStillGetsTheValue()
    {
        (ChaosBackend remote, TaskCompletionSource slowRead) = SlowRemote();
        await using var t = new TestRegion(backend: remote);
        await t.Region.SetAsync("k", "stored");
        using var impatient = new CancellationTokenSource();

        // The first caller has no token, so it awaits the read itself and hands it to whoever joined.
        Task<string> leader = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")).AsTask();
        Task<string> joiner = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run"), cancellationToken: impatient.Token).AsTask();
        Task<string> patient = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")).AsTask();
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => joiner);
        slowRead.SetResult();

        Assert.Equal("stored", await leader);
        Assert.Equal("stored", await patient);
        Assert.Equal(1, remote.Reads);
        Assert.Equal("stored", await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")));
        Assert.Equal(2, remote.Reads);
    }

    [Fact]
    public async Task ReadThatCompletesJustAfterItWasShared_IsStillHandedOn_SoTheNextReadOfTheKeyDoesNotHang()
    {
        var remote = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System)) { CompleteReadsOnSecondLook = true };
        await using var t = new TestRegion(backend: remote);
        await t.Region.SetAsync("k", "stored");

        for (int i = 0; i < 3; i++)
        {
            string value = await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run"))
                .AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("stored", value);
        }

        Assert.Equal(3, remote.Reads);
    }

    [Fact]
    public async Task SharedRead_Fails_EveryJoinedCallerSeesTheFailure_AndTheNextReadIsNew()
    {
        (ChaosBackend remote, TaskCompletionSource slowRead) = SlowRemote();
        remote.FailReads = true;
        await using var t = new TestRegion(backend: remote);

        Task<string>[] callers = Enumerable.Range(0, 5).Select(_ => t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v")).AsTask()).ToArray();
        slowRead.SetResult();
        foreach (Task<string> caller in callers)
        {
            await Assert.ThrowsAsync<IOException>(() => caller);
        }

        Assert.Equal(1, remote.Reads);
        remote.FailReads = false;
        Assert.Equal("v", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("v")));
        Assert.Equal(3, remote.Reads);
    }

    [Fact]
    public async Task WriteWhileAReadIsInFlight_LaterCallersDoNotJoinTheOlderRead()
    {
        var slowFirstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int reads = 0;
        var remote = new ChaosBackend(new MemoryCacheBackend(100, TimeProvider.System))
        {
            // The first read has already seen the old value and is slow to come back.
            AfterRead = () => Interlocked.Increment(ref reads) == 1 ? slowFirstRead.Task : Task.CompletedTask,
        };
        await using var t = new TestRegion(backend: remote);
        await t.Region.SetAsync("k", "old");

        Task<string> before = t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run")).AsTask();
        await t.Region.SetAsync("k", "new");
        // Joining the older read would wait for it (and then return "old"): bounded, so that shows as a failure.
        string after = await t.Region.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("must not run"))
            .AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        slowFirstRead.SetResult();

        Assert.Equal("new", after);
        Assert.Equal("old", await before);
        await t.Region.RemoveAsync("k");
        Assert.Equal("created", await t.Region.GetOrCreateAsync("k", _ => new ValueTask<string>("created")));
    }
}
