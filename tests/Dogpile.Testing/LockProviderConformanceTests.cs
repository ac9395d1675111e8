using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Testing;

/// <summary>
/// The lock-provider contract, by example: owner tokens, exclusion between processes, leases that end without their
/// owner, waiting with a time-out, and "the value was produced while I waited". Every distributed lock's test project
/// subclasses it; two providers over separate connections to one store stand for two processes.
/// </summary>
/// <remarks>Time-outs run on a <see cref="FakeTimeProvider"/>: no test sleeps until a lock times out.</remarks>
public abstract class LockProviderConformanceTests
{
    /// <summary>A provider with a connection of its own to the shared store, as another process would have.</summary>
    /// <param name="time">The clock the provider must use for its waits, polls and leases.</param>
    protected abstract ValueTask<ICacheLockProvider> CreateProviderAsync(TimeProvider time);

    /// <summary>Ends the lease of <paramref name="key"/>'s lock in the store, as running out of time would, without its owner knowing.</summary>
    protected abstract ValueTask ExpireLeaseAsync(string key);

    /// <summary>The backend the providers' locks guard (its keys are the lock keys): where a creator writes the value.</summary>
    protected abstract ICacheBackend Backend { get; }

    /// <summary>Whether the provider hands out fencing tokens (a number that grows with every acquisition of a key).</summary>
    protected abstract bool HasFencingTokens { get; }

    /// <summary>A key unique to this test, so tests sharing a server do not see each other's locks.</summary>
    protected virtual string Key(string name) => $"lockconf-{Guid.NewGuid():N}-{name}";

    private ValueTask<ICacheLockProvider> ProviderAsync() => CreateProviderAsync(TimeProvider.System);

    [Fact]
    public async Task TryAcquire_FreeKey_ReturnsALockNamingTheKey_WithAnOwnerToken()
    {
        ICacheLockProvider provider = await ProviderAsync();
        string key = Key("free");

        ICacheLock? held = await provider.TryAcquireAsync(key, CancellationToken.None);

        Assert.NotNull(held);
        Assert.Equal(key, held.Key);
        Assert.False(string.IsNullOrEmpty(held.OwnerToken));
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task TryAcquire_KeyHeldByAnotherProcess_ReturnsNull_AndDoesNotWait()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("held");
        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;

        Assert.Null(await mine.TryAcquireAsync(key, CancellationToken.None));
        Assert.Null(await theirs.TryAcquireAsync(key, CancellationToken.None));
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task Locks_OnDifferentKeys_DoNotExcludeEachOther()
    {
        ICacheLockProvider provider = await ProviderAsync();
        ICacheLock a = (await provider.TryAcquireAsync(Key("a"), CancellationToken.None))!;
        ICacheLock? b = await provider.TryAcquireAsync(Key("b"), CancellationToken.None);

        Assert.NotNull(b);
        await a.ReleaseAsync();
        await b.ReleaseAsync();
    }

    [Fact]
    public async Task Release_LetsAnotherProcessTakeTheKey_UnderANewOwnerToken()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("release");
        ICacheLock first = (await mine.TryAcquireAsync(key, CancellationToken.None))!;

        await first.ReleaseAsync();
        await first.ReleaseAsync(); // a second release is harmless
        ICacheLock? second = await theirs.TryAcquireAsync(key, CancellationToken.None);

        Assert.NotNull(second);
        Assert.NotEqual(first.OwnerToken, second.OwnerToken);
        await second.ReleaseAsync();
    }

    [Fact]
    public async Task DisposeAsync_ReleasesTheLock()
    {
        ICacheLockProvider provider = await ProviderAsync();
        string key = Key("dispose");
        await using (ICacheLock _ = (await provider.TryAcquireAsync(key, CancellationToken.None))!)
        {
            Assert.True(await provider.IsHeldAsync(key, CancellationToken.None));
        }

        Assert.False(await provider.IsHeldAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task FencingToken_GrowsWithEveryAcquisition_WhereTheProviderFences()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("fence");
        var tokens = new List<long>();
        for (int i = 0; i < 3; i++)
        {
            ICacheLock held = (await (i % 2 == 0 ? mine : theirs).TryAcquireAsync(key, CancellationToken.None))!;
            tokens.Add(held.FencingToken);
            await held.ReleaseAsync();
        }

        if (HasFencingTokens)
        {
            Assert.True(tokens[0] < tokens[1] && tokens[1] < tokens[2], $"fences {string.Join(", ", tokens)} do not grow");
        }
        else
        {
            // Without fencing the token says so: 0, never a number a writer could mistake for a fence.
            Assert.All(tokens, token => Assert.Equal(0, token));
        }
    }

    [Fact]
    public async Task IsHeld_SeesAnotherProcessesLock_UntilItIsReleased()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("isheld");
        Assert.False(await mine.IsHeldAsync(key, CancellationToken.None));

        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;
        Assert.True(await mine.IsHeldAsync(key, CancellationToken.None));

        await held.ReleaseAsync();
        Assert.False(await mine.IsHeldAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task Extend_WhileHeld_Succeeds_AfterRelease_Fails()
    {
        ICacheLockProvider provider = await ProviderAsync();
        ICacheLock held = (await provider.TryAcquireAsync(Key("extend"), CancellationToken.None))!;

        Assert.True(await held.ExtendAsync(TimeSpan.FromSeconds(60), CancellationToken.None));
        await held.ReleaseAsync();
        Assert.False(await held.ExtendAsync(TimeSpan.FromSeconds(60), CancellationToken.None));
    }

    [Fact]
    public async Task LeaseEnded_TheOldOwnersReleaseAndExtend_LeaveTheNewOwnersLockAlone()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("expired");
        ICacheLock old = (await mine.TryAcquireAsync(key, CancellationToken.None))!;

        await ExpireLeaseAsync(key);
        ICacheLock current = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;
        Assert.NotNull(current);

        Assert.False(await old.ExtendAsync(TimeSpan.FromSeconds(60), CancellationToken.None));
        await old.ReleaseAsync();

        Assert.True(await mine.IsHeldAsync(key, CancellationToken.None));
        Assert.Null(await mine.TryAcquireAsync(key, CancellationToken.None));
        Assert.True(await current.ExtendAsync(TimeSpan.FromSeconds(60), CancellationToken.None));
        if (HasFencingTokens)
        {
            Assert.True(current.FencingToken > old.FencingToken);
        }

        await current.ReleaseAsync();
        Assert.False(await mine.IsHeldAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task Acquire_WhileHeld_WaitsAndTakesTheLockOnceItIsReleased()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("wait");
        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;

        ValueTask<ICacheLock?> waiting = mine.AcquireAsync(key, TimeSpan.FromSeconds(30), valueProduced: null, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        await held.ReleaseAsync();
        ICacheLock? acquired = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.NotNull(acquired);
        Assert.NotEqual(held.OwnerToken, acquired.OwnerToken);
        Assert.True(await theirs.IsHeldAsync(key, CancellationToken.None));
        await acquired.ReleaseAsync();
    }

    [Fact]
    public async Task Acquire_ValueProducedWhileWaiting_ReturnsNull_WithoutTakingTheLock()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("produced");
        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;
        int checks = 0;

        // What a region passes: the entry the wake-up carried, or else a read of the backend.
        ValueTask<ICacheLock?> waiting = mine.AcquireAsync(
            key,
            TimeSpan.FromSeconds(30),
            async (written, ct) =>
            {
                Interlocked.Increment(ref checks);
                return written is not null || await Backend.GetAsync(key, ct) is not null;
            },
            CancellationToken.None);
        await Backend.SetAsync(key, Entry("produced"), TimeSpan.FromMinutes(1), CancellationToken.None);
        await held.ReleaseAsync();

        Assert.Null(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(Volatile.Read(ref checks) >= 1);
        Assert.False(await theirs.IsHeldAsync(key, CancellationToken.None));
    }

    private CacheEntry Entry(string text)
        => Backend.StoresObjects
            ? new CacheEntry(text, DateTime.UtcNow.Ticks, TimeSpan.FromMinutes(1), TimeSpan.Zero)
            : new CacheEntry(System.Text.Encoding.UTF8.GetBytes(text), DateTime.UtcNow.Ticks, TimeSpan.FromMinutes(1), TimeSpan.Zero);

    [Fact]
    public async Task Acquire_HeldPastTheTimeout_ThrowsCacheLockTimeoutException_OnTheProvidersClock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        ICacheLockProvider mine = await CreateProviderAsync(time), theirs = await ProviderAsync();
        string key = Key("timeout");
        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;

        Task<ICacheLock?> waiting = mine.AcquireAsync(key, TimeSpan.FromSeconds(10), valueProduced: null, CancellationToken.None).AsTask();

        // Real round trips run between the fake clock's steps; ten seconds of fake time pass in well under one real one.
        for (int step = 0; step < 200 && !waiting.IsCompleted; step++)
        {
            await Task.Delay(5);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }

        CacheLockTimeoutException timedOut = await Assert.ThrowsAsync<CacheLockTimeoutException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains(key, timedOut.Message, StringComparison.Ordinal);
        Assert.True(await theirs.IsHeldAsync(key, CancellationToken.None), "the waiter's time-out must leave the holder's lock alone");
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task Acquire_Cancelled_StopsWaiting_AndTakesNothing()
    {
        ICacheLockProvider mine = await ProviderAsync(), theirs = await ProviderAsync();
        string key = Key("cancel");
        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;
        using var cancel = new CancellationTokenSource();

        Task<ICacheLock?> waiting = mine.AcquireAsync(key, TimeSpan.FromSeconds(30), valueProduced: null, cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        await held.ReleaseAsync();

        // A try sent before the cancellation may still reach the server after the holder's release (a new connection's
        // first command waits for its handshake) and take the lock: the provider then releases it as soon as the answer
        // comes, never leaving it for a lease.
        await Eventually.TrueAsync(async () => !await mine.IsHeldAsync(key, CancellationToken.None), "the cancelled waiter holds nothing", TimeSpan.FromSeconds(5));
    }
}
