using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dogpile.Memcached.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Memcached.Tests.Locking;

/// <summary>Owner-token safety, leases, waiting and renewal of the memcached lock, against a real server.</summary>
public sealed class MemcachedLockProviderTests(MemcachedServer server) : IClassFixture<MemcachedServer>, IDisposable
{
    private readonly MemcachedCacheBackend _backend = new(new MemcachedClientOptions { Servers = { server.Endpoint } });

    private static string NewKey(string name) => $"lock-{Guid.NewGuid():N}-{name}";

    private MemcachedLockProvider Provider(TimeSpan? lease = null, bool renew = false, TimeProvider? time = null) =>
        new(_backend, new MemcachedLockOptions { Lease = lease ?? TimeSpan.FromSeconds(30), RenewWhileHeld = renew }, time);

    private async Task<string?> StoredTokenAsync(MemcachedLockProvider provider, string key)
    {
        var raw = await _backend.Client.GetAsync(provider.LockKeyFor(key));
        return raw.Found ? Encoding.ASCII.GetString(raw.Value.Span) : null;
    }

    [Fact]
    public async Task TryAcquire_FreeKey_StoresOwnerTokenUnderLockKeyWithLeaseTtl()
    {
        var provider = Provider(TimeSpan.FromSeconds(20));
        string key = NewKey("free");

        ICacheLock? held = await provider.TryAcquireAsync(key, CancellationToken.None);

        Assert.NotNull(held);
        Assert.Equal(key, held.Key);
        Assert.Equal(0, held.FencingToken);
        Assert.Equal(key + ":lock", provider.LockKeyFor(key));
        Assert.Equal(held.OwnerToken, await StoredTokenAsync(provider, key));
        var raw = await _backend.Client.GetAsync(key + ":lock");
        Assert.InRange(raw.RemainingTtl!.Value, TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task IsHeld_SeesAnotherProvidersLock_UntilItIsReleased()
    {
        MemcachedLockProvider mine = Provider(), theirs = Provider();
        string key = NewKey("held");
        await using var region = new CacheRegion(new CacheRegionOptions { Name = "locked", Backend = _backend, LockProvider = mine });

        Assert.False(await region.IsLockedAsync(key));
        ICacheLock held = (await theirs.TryAcquireAsync(key, CancellationToken.None))!;
        Assert.True(await mine.IsHeldAsync(key, CancellationToken.None));
        Assert.True(await region.IsLockedAsync(key));

        await held.ReleaseAsync();
        Assert.False(await region.IsLockedAsync(key));
    }

    [Fact]
    public async Task TryAcquire_HeldKey_ReturnsNull_ReleasedKey_CanBeTakenAgain()
    {
        var provider = Provider();
        string key = NewKey("held");
        ICacheLock first = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        Assert.Null(await provider.TryAcquireAsync(key, CancellationToken.None));

        await first.ReleaseAsync();
        await first.ReleaseAsync(); // idempotent
        Assert.Null(await StoredTokenAsync(provider, key));
        ICacheLock? second = await provider.TryAcquireAsync(key, CancellationToken.None);
        Assert.NotNull(second);
        Assert.NotEqual(first.OwnerToken, second.OwnerToken);
    }

    [Fact]
    public async Task ExpiredHolder_ReleaseAndExtend_NeverTouchTheNewOwnersLock()
    {
        var provider = Provider(TimeSpan.FromSeconds(2));
        string key = NewKey("expired");
        ICacheLock a = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        // memcached expires by its own whole-second clock: wait until A's lease is really gone.
        await Dogpile.Testing.Eventually.TrueAsync(async () => await StoredTokenAsync(provider, key) is null, "A's lease expired", TimeSpan.FromSeconds(5));
        ICacheLock b = (await provider.TryAcquireAsync(key, CancellationToken.None))!;
        Assert.NotNull(b);

        Assert.False(await a.ExtendAsync(TimeSpan.FromSeconds(30), CancellationToken.None));
        await a.ReleaseAsync();

        Assert.Equal(b.OwnerToken, await StoredTokenAsync(provider, key));
        Assert.Null(await provider.TryAcquireAsync(key, CancellationToken.None));

        await b.ReleaseAsync();
        Assert.Null(await StoredTokenAsync(provider, key));
    }

    [Fact]
    public async Task Extend_HeldLock_ResetsTheLease()
    {
        var provider = Provider(TimeSpan.FromSeconds(5));
        string key = NewKey("extend");
        ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        Assert.True(await held.ExtendAsync(TimeSpan.FromSeconds(100), CancellationToken.None));

        var raw = await _backend.Client.GetAsync(provider.LockKeyFor(key));
        Assert.InRange(raw.RemainingTtl!.Value, TimeSpan.FromSeconds(98), TimeSpan.FromSeconds(100));
        Assert.Equal(held.OwnerToken, Encoding.ASCII.GetString(raw.Value.Span));
        await held.ReleaseAsync();
        Assert.False(await held.ExtendAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
    }

    [Fact]
    public async Task Extend_LeaseUnderTwoSeconds_Rejected_LockKeepsItsLease()
    {
        var provider = Provider(TimeSpan.FromSeconds(20));
        string key = NewKey("short-extend");
        ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await held.ExtendAsync(TimeSpan.FromSeconds(1), CancellationToken.None));

        var raw = await _backend.Client.GetAsync(provider.LockKeyFor(key));
        Assert.InRange(raw.RemainingTtl!.Value, TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(20));
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task Acquire_WaitersBackOff_AndEachGetsTheLockAfterRelease()
    {
        var provider = Provider();
        string key = NewKey("waiters");
        ICacheLock first = (await provider.TryAcquireAsync(key, CancellationToken.None))!;
        var order = new List<string>();

        Task[] waiters = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
        {
            await using ICacheLock? held = await provider.AcquireAsync(key, TimeSpan.FromSeconds(20), valueProduced: null, CancellationToken.None);
            lock (order)
            {
                order.Add(held!.OwnerToken);
            }

            await Task.Delay(50);
        })).ToArray();

        await Task.Delay(300);
        Assert.All(waiters, w => Assert.False(w.IsCompleted));
        await first.ReleaseAsync();
        await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(3, order.Distinct().Count());
        Assert.Null(await StoredTokenAsync(provider, key));
    }

    [Fact]
    public async Task Acquire_HeldPastTimeout_ThrowsLockTimeoutWithinBoundedTime()
    {
        var provider = Provider();
        string key = NewKey("timeout");
        await using ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<CacheLockTimeoutException>(async () => await provider.AcquireAsync(key, TimeSpan.FromMilliseconds(600), valueProduced: null, CancellationToken.None));
        watch.Stop();

        Assert.Equal(key, ex.Key);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(550), TimeSpan.FromMilliseconds(600 + 250 + 500));
    }

    [Fact]
    public async Task Acquire_WaitsThroughTimeProvider_NeverPastTheTimeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var provider = Provider(time: time);
        string key = NewKey("fake-time");
        await using ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        Task<ICacheLock?> waiting = provider.AcquireAsync(key, TimeSpan.FromSeconds(2), valueProduced: null, CancellationToken.None).AsTask();
        int attempts = 0;
        while (!waiting.IsCompleted && attempts++ < 200)
        {
            await Task.Delay(5); // let the real network round trip finish, then move the fake clock
            time.Advance(TimeSpan.FromMilliseconds(250));
        }

        await Assert.ThrowsAsync<CacheLockTimeoutException>(() => waiting);
        // Delays capped at 250 ms: at most ~2 s / 10 ms attempts, and certainly more than one.
        Assert.InRange(attempts, 8, 200);
    }

    [Fact]
    public async Task Acquire_ValueProducedWhileWaiting_ReturnsWithoutTakingTheLock()
    {
        var provider = Provider();
        string key = NewKey("produced");
        ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;
        int checks = 0;
        var produced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The holder's process writes the value and keeps its lock a while: the waiter must see the value, not wait for the lock.
        ValueTask<ICacheLock?> waiting = provider.AcquireAsync(
            key,
            TimeSpan.FromSeconds(20),
            (_, _) => new ValueTask<bool>(Interlocked.Increment(ref checks) > 0 && produced.Task.IsCompleted),
            CancellationToken.None);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        produced.SetResult();

        Assert.Null(await waiting);
        Assert.True(checks >= 1);
        Assert.Equal(held.OwnerToken, await StoredTokenAsync(provider, key));
        await held.ReleaseAsync();
    }

    [Theory]
    [InlineData(2, 500)] // (lease - 1 s) / 2: memcached may end a 2 s lease after just over 1 s
    [InlineData(30, 10_000)] // lease / 3
    public async Task RenewWhileHeld_RenewsSoonEnoughForMemcachedsWholeSecondClock(int leaseSeconds, int periodMs)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var provider = Provider(TimeSpan.FromSeconds(leaseSeconds), renew: true, time);
        string key = NewKey("renew-period");
        ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;
        // A renewal is a compare-and-swap store: the server counts it in cas_hits (this class has the server to itself).
        async Task<long> RenewalsAsync() => long.Parse((await server.StatsAsync())["cas_hits"], CultureInfo.InvariantCulture);
        long before = await RenewalsAsync();

        time.Advance(TimeSpan.FromMilliseconds(periodMs - 1));
        await Task.Delay(200); // a renewal would be a real round trip: give it time to land
        Assert.Equal(before, await RenewalsAsync());

        time.Advance(TimeSpan.FromMilliseconds(1));
        await Dogpile.Testing.Eventually.TrueAsync(async () => await RenewalsAsync() > before, $"renewed {periodMs} ms into a {leaseSeconds} s lease");
        await held.ReleaseAsync();
    }

    [Fact]
    public async Task RenewWhileHeld_KeepsTheLockPastItsLease_UntilReleased()
    {
        // memcached's clock ticks in whole seconds, so a 1 s TTL can end at the very next tick; a 3 s lease renewed
        // every second leaves two seconds for a renewal delayed by a busy machine.
        var provider = Provider(TimeSpan.FromSeconds(3), renew: true);
        string key = NewKey("renew");
        ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;

        await Task.Delay(TimeSpan.FromSeconds(5));

        Assert.Equal(held.OwnerToken, await StoredTokenAsync(provider, key));
        await held.ReleaseAsync();
        Assert.Null(await StoredTokenAsync(provider, key));
    }

    [Fact]
    public async Task Cancellation_StopsAWaiter()
    {
        var provider = Provider();
        string key = NewKey("cancel");
        await using ICacheLock held = (await provider.TryAcquireAsync(key, CancellationToken.None))!;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await provider.AcquireAsync(key, Timeout.InfiniteTimeSpan, valueProduced: null, cts.Token));
    }

    [Theory]
    [InlineData(245, false)]
    [InlineData(246, true)]
    public void LockKey_StaysWithin250Bytes_HashingWhenTheSuffixWouldNotFit(int length, bool hashed)
    {
        var provider = Provider();
        string key = new('k', length);

        string lockKey = provider.LockKeyFor(key);

        Assert.True(lockKey.Length <= 250);
        Assert.EndsWith(":lock", lockKey, StringComparison.Ordinal);
        Assert.Equal(hashed, lockKey.StartsWith("sha256:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LockKey_ForUnsafeKey_IsHashedAndUsable()
    {
        var provider = Provider();
        await using ICacheLock? held = await provider.TryAcquireAsync("a key with spaces " + Guid.NewGuid(), CancellationToken.None);
        Assert.NotNull(held);
    }

    [Fact]
    public async Task ProviderWithItsOwnClient_SeesTheSameLocksAsOneSharingTheBackend()
    {
        using var own = new MemcachedLockProvider(new MemcachedClientOptions { Servers = { server.Endpoint } });
        var shared = Provider();
        string key = NewKey("own");

        await using ICacheLock? held = await own.TryAcquireAsync(key, CancellationToken.None);

        Assert.NotNull(held);
        Assert.Null(await shared.TryAcquireAsync(key, CancellationToken.None));
        Assert.Equal(held.OwnerToken, await StoredTokenAsync(shared, key));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(1000)] // memcached may end it after 0.07 s: no renewal could keep it
    [InlineData(1999)]
    public void Options_LeaseUnderTwoSeconds_RejectedByName(int leaseMs)
    {
        var ex = Assert.Throws<ArgumentException>(() => Provider(TimeSpan.FromMilliseconds(leaseMs)));
        Assert.Contains("Lease", ex.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _backend.Dispose();
}
