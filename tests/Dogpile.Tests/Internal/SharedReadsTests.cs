using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Tests.Internal;

/// <summary>The table of remote reads in flight that concurrent callers of one key share.</summary>
public sealed class SharedReadsTests
{
    [Fact]
    public async Task PendingRead_IsJoinable_UntilItEnds()
    {
        var reads = new SharedReads();
        int slot = SharedReads.SlotOf("k");
        var pending = new TaskCompletionSource<CacheEntry?>(TaskCreationOptions.RunContinuationsAsynchronously);

        Task<CacheEntry?> shared = reads.Share(slot, "k", new ValueTask<CacheEntry?>(pending.Task));
        Assert.Same(shared, reads.TryJoin(slot, "k"));

        var entry = new CacheEntry("v", 1, null, TimeSpan.Zero);
        pending.SetResult(entry);
        Assert.Same(entry, await shared);
        Assert.Null(reads.TryJoin(slot, "k"));
    }

    [Fact]
    public async Task TwoKeysInOneSlot_TheSecondReadIsNotShared_AndBothGetTheirOwnEntry()
    {
        var reads = new SharedReads();
        (string first, string second) = KeysInOneSlot();
        int slot = SharedReads.SlotOf(first);
        var firstRead = new TaskCompletionSource<CacheEntry?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondRead = new TaskCompletionSource<CacheEntry?>(TaskCreationOptions.RunContinuationsAsynchronously);

        Task<CacheEntry?> firstShared = reads.Share(slot, first, new ValueTask<CacheEntry?>(firstRead.Task));
        Task<CacheEntry?> secondAlone = reads.Share(slot, second, new ValueTask<CacheEntry?>(secondRead.Task));

        Assert.Null(reads.TryJoin(slot, second));
        Assert.Same(firstShared, reads.TryJoin(slot, first));
        var a = new CacheEntry("a", 1, null, TimeSpan.Zero);
        var b = new CacheEntry("b", 1, null, TimeSpan.Zero);
        secondRead.SetResult(b);
        firstRead.SetResult(a);
        Assert.Same(a, await firstShared);
        Assert.Same(b, await secondAlone);
    }

    [Fact]
    public void Forget_StopsSharingThatKey_AndLeavesAnotherKeysRead()
    {
        var reads = new SharedReads();
        (string first, string second) = KeysInOneSlot();
        int slot = SharedReads.SlotOf(first);
        var pending = new TaskCompletionSource<CacheEntry?>();
        _ = reads.Share(slot, first, new ValueTask<CacheEntry?>(pending.Task));

        reads.Forget(second);
        Assert.NotNull(reads.TryJoin(slot, first));
        reads.Forget(first);
        Assert.Null(reads.TryJoin(slot, first));
        pending.SetResult(null);
    }

    [Fact]
    public async Task FinishedRead_LeavesItsSlot_SoItsEntryIsNotKeptAlive()
    {
        var reads = new SharedReads();

        // Off the test's synchronization context, so the read's continuation runs (and ends) inside SetResult.
        WeakReference entry = await Task.Run(() => ReadOnceThroughTheTable(reads));

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(entry.IsAlive, "a finished shared read must not hold its entry");
        GC.KeepAlive(reads);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ReadOnceThroughTheTable(SharedReads reads)
    {
        var pending = new TaskCompletionSource<CacheEntry?>();
        Task<CacheEntry?> shared = reads.Share(SharedReads.SlotOf("k"), "k", new ValueTask<CacheEntry?>(pending.Task));
        var entry = new CacheEntry(new byte[1024], 1, null, TimeSpan.Zero);
        pending.SetResult(entry);
        Assert.True(shared.IsCompletedSuccessfully);
        return new WeakReference(entry);
    }

    private static (string First, string Second) KeysInOneSlot()
    {
        int slot = SharedReads.SlotOf("first");
        for (int i = 0; ; i++)
        {
            string candidate = "second-" + i;
            if (SharedReads.SlotOf(candidate) == slot)
            {
                return ("first", candidate);
            }
        }
    }
}
