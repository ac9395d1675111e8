using System.Runtime.CompilerServices;
using Dogpile.Internal;

namespace Dogpile.Tests.Internal;

/// <summary>The table of remote reads in flight that concurrent callers of one key share.</summary>
public sealed class SharedReadsTests
{
    [Fact]
    public async Task LedRead_IsJoinable_UntilItFinishes_AndEveryJoinerGetsItsEntry()
    {
        var reads = new SharedReads();
        int slot = SharedReads.SlotOf("k");

        SharedReads.Lead? lead = reads.TryLead(slot, "k");
        Assert.NotNull(lead);
        Task<CacheEntry?>? joined = reads.TryJoin(slot, "k");
        Assert.NotNull(joined);
        Assert.Same(joined, reads.TryJoin(slot, "k"));
        Assert.False(joined.IsCompleted);

        var entry = new CacheEntry("v", 1, null, TimeSpan.Zero);
        reads.Finish(lead, entry);
        Assert.Same(entry, await joined);
        Assert.Null(reads.TryJoin(slot, "k"));
        Assert.NotNull(reads.TryLead(slot, "k"));
    }

    [Fact]
    public void LedRead_NobodyJoins_FinishingFreesTheSlot()
    {
        var reads = new SharedReads();
        int slot = SharedReads.SlotOf("k");
        SharedReads.Lead? lead = reads.TryLead(slot, "k");

        reads.Finish(lead, null);

        Assert.True(lead!.IsFinished);
        Assert.Null(reads.TryJoin(slot, "k"));
        Assert.NotNull(reads.TryLead(slot, "k"));
    }

    [Fact]
    public async Task LedRead_Fails_EveryJoinerSeesTheSameException_AndTheSlotIsFree()
    {
        var reads = new SharedReads();
        int slot = SharedReads.SlotOf("k");
        SharedReads.Lead? lead = reads.TryLead(slot, "k");
        Task<CacheEntry?> first = reads.TryJoin(slot, "k")!;
        Task<CacheEntry?> second = reads.TryJoin(slot, "k")!;
        var failure = new IOException("connection reset");

        reads.Fail(lead, failure);

        Assert.Same(failure, await Assert.ThrowsAsync<IOException>(() => first));
        Assert.Same(failure, await Assert.ThrowsAsync<IOException>(() => second));
        Assert.Null(reads.TryJoin(slot, "k"));
        Assert.NotNull(reads.TryLead(slot, "k"));
    }

    [Fact]
    public void FinishingOrFailingNoLead_DoesNothing()
    {
        var reads = new SharedReads();
        SharedReads.Lead? held = reads.TryLead(SharedReads.SlotOf("k"), "k");

        reads.Finish(null, null);
        reads.Fail(null, new IOException("ignored"));

        Assert.False(held!.IsFinished);
        Assert.NotNull(reads.TryJoin(SharedReads.SlotOf("k"), "k"));
    }

    [Fact]
    public async Task LeadToEnd_FinishesTheLeadWithTheRead_OrFailsIt()
    {
        var reads = new SharedReads();
        int slot = SharedReads.SlotOf("k");
        var pending = new TaskCompletionSource<CacheEntry?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<CacheEntry?> led = reads.LeadToEndAsync(reads.TryLead(slot, "k")!, new ValueTask<CacheEntry?>(pending.Task));
        Task<CacheEntry?> joined = reads.TryJoin(slot, "k")!;
        var entry = new CacheEntry("v", 1, null, TimeSpan.Zero);

        pending.SetResult(entry);

        Assert.Same(entry, await led);
        Assert.Same(entry, await joined);
        Assert.Null(reads.TryJoin(slot, "k"));

        var failing = new TaskCompletionSource<CacheEntry?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<CacheEntry?> ledAgain = reads.LeadToEndAsync(reads.TryLead(slot, "k")!, new ValueTask<CacheEntry?>(failing.Task));
        Task<CacheEntry?> joinedAgain = reads.TryJoin(slot, "k")!;
        failing.SetException(new IOException("gone"));
        await Assert.ThrowsAsync<IOException>(() => ledAgain);
        await Assert.ThrowsAsync<IOException>(() => joinedAgain);
        Assert.Null(reads.TryJoin(slot, "k"));
    }

    [Fact]
    public void TwoKeysInOneSlot_TheSecondReadIsNotShared_AndTheFirstStillIs()
    {
        var reads = new SharedReads();
        (string first, string second) = KeysInOneSlot();
        int slot = SharedReads.SlotOf(first);

        SharedReads.Lead? firstLead = reads.TryLead(slot, first);
        SharedReads.Lead? secondLead = reads.TryLead(slot, second);

        Assert.NotNull(firstLead);
        Assert.Null(secondLead);
        Assert.Null(reads.TryJoin(slot, second));
        Assert.NotNull(reads.TryJoin(slot, first));
        reads.Finish(firstLead, null);
        Assert.NotNull(reads.TryLead(slot, second));
    }

    [Fact]
    public void Forget_StopsSharingThatKey_AndLeavesAnotherKeysRead()
    {
        var reads = new SharedReads();
        (string first, string second) = KeysInOneSlot();
        int slot = SharedReads.SlotOf(first);
        SharedReads.Lead? lead = reads.TryLead(slot, first);

        reads.Forget(second);
        Assert.NotNull(reads.TryJoin(slot, first));
        reads.Forget(first);
        Assert.Null(reads.TryJoin(slot, first));

        // The forgotten read still finishes, and its finish does not free a slot another read has taken since.
        SharedReads.Lead? next = reads.TryLead(slot, first);
        reads.Finish(lead, null);
        Assert.NotNull(next);
        Assert.NotNull(reads.TryJoin(slot, first));
    }

    [Fact]
    public async Task FinishedRead_LeavesItsSlot_SoItsEntryIsNotKeptAlive()
    {
        var reads = new SharedReads();

        // Off the test's synchronization context, so the joiner's continuation runs (and ends) inside Finish.
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
        int slot = SharedReads.SlotOf("k");
        SharedReads.Lead? lead = reads.TryLead(slot, "k");
        Task<CacheEntry?> joined = reads.TryJoin(slot, "k")!;
        var entry = new CacheEntry(new byte[1024], 1, null, TimeSpan.Zero);
        reads.Finish(lead, entry);
        Assert.True(joined.IsCompletedSuccessfully);
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
