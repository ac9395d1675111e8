using Dogpile.Internal;

namespace Dogpile.Tests.Internal;

/// <summary>The in-process creation locks, with their reused gates: exclusion per key, and no release that frees a later hold.</summary>
public sealed class KeyedGatesTests
{
    [Fact]
    public async Task ManyKeys_ManyHolders_AtMostOneHolderPerKey_AndEveryGateIsGoneAfterwards()
    {
        var gates = new KeyedGates();
        string[] keys = ["a", "b", "c"];
        var holders = new int[keys.Length];
        int overlaps = 0;

        // Gates of the three keys retire and come back from the pool constantly, swapping keys as they do.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 2_000; i++)
            {
                int k = (worker + i) % keys.Length;
                KeyedGates.GateLease lease = await gates.AcquireAsync(keys[k], Timeout.InfiniteTimeSpan, TimeProvider.System, CancellationToken.None);
                if (Interlocked.Increment(ref holders[k]) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                if (i % 7 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref holders[k]);
                lease.Release();
            }
        })));

        Assert.Equal(0, overlaps);
        Assert.Equal(0, gates.Count);
    }

    [Fact]
    public async Task TryAcquireMixedWithWaiters_ManyKeys_AtMostOneHolderPerKey_AndEveryGateIsGoneAfterwards()
    {
        // TryAcquire publishes a gate it has already taken when the key has none: it must race correctly with waiters
        // and with other TryAcquires, as gates retire and come back from the pool under other keys.
        var gates = new KeyedGates();
        string[] keys = ["a", "b", "c"];
        var holders = new int[keys.Length];
        int overlaps = 0;
        int tried = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 2_000; i++)
            {
                int k = (worker + i) % keys.Length;
                KeyedGates.GateLease lease;
                if (worker % 2 == 0)
                {
                    if (gates.TryAcquire(keys[k]) is not { } taken)
                    {
                        continue;
                    }

                    Interlocked.Increment(ref tried);
                    lease = taken;
                }
                else
                {
                    lease = await gates.AcquireAsync(keys[k], Timeout.InfiniteTimeSpan, TimeProvider.System, CancellationToken.None);
                }

                if (Interlocked.Increment(ref holders[k]) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                if (i % 5 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref holders[k]);
                lease.Release();
            }
        })));

        Assert.Equal(0, overlaps);
        Assert.True(tried > 0);
        Assert.Equal(0, gates.Count);
    }

    [Fact]
    public void TryAcquire_HeldKey_ReturnsNullAndLeavesTheHolderAlone()
    {
        var gates = new KeyedGates();
        KeyedGates.GateLease first = gates.TryAcquire("k") ?? throw new InvalidOperationException("a free key was not taken");

        Assert.Null(gates.TryAcquire("k"));
        Assert.True(gates.IsBusy("k"));
        Assert.False(first.IsReleased);

        first.Release();
        Assert.False(gates.IsBusy("k"));
        KeyedGates.GateLease again = gates.TryAcquire("k") ?? throw new InvalidOperationException("a released key was not taken");
        again.Release();
        Assert.Equal(0, gates.Count);
    }

    [Fact]
    public void Release_OfAnEarlierHold_DoesNotFreeTheNextHolder()
    {
        var gates = new KeyedGates();
        KeyedGates.GateLease first = gates.TryAcquire("k")!.Value;
        KeyedGates.GateLease copy = first;
        first.Release();

        KeyedGates.GateLease second = gates.TryAcquire("k")!.Value;
        copy.Release(); // the earlier hold, released again through a copy
        first.Release();

        Assert.True(first.IsReleased);
        Assert.False(second.IsReleased);
        Assert.Null(gates.TryAcquire("k"));
        Assert.True(gates.IsBusy("k"));
        second.Release();
        Assert.False(gates.IsBusy("k"));
        Assert.NotNull(gates.TryAcquire("k"));
    }

    [Fact]
    public void RetiredGate_ReusedForAnotherKey_KeepsTheKeysApart()
    {
        var gates = new KeyedGates();
        gates.TryAcquire("x")!.Value.Release(); // x's gate retires into the pool

        KeyedGates.GateLease y = gates.TryAcquire("y")!.Value; // and comes back as y's
        KeyedGates.GateLease? x = gates.TryAcquire("x");

        Assert.NotNull(x);
        Assert.Null(gates.TryAcquire("y"));
        x.Value.Release();
        y.Release();
        Assert.Equal(0, gates.Count);
    }
}
