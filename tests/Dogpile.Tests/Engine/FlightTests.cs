using Dogpile.Engine;

namespace Dogpile.Tests.Engine;

public sealed class FlightTests
{
    [Fact]
    public async Task WhenDone_AskedBeforeCompletion_CompletesWithTheResult()
    {
        using var flight = new Flight();
        Task done = flight.WhenDone();
        Assert.False(done.IsCompleted);
        Assert.Same(done, flight.WhenDone());

        flight.Complete(new FlightResult("v", 42, EntryLifetime.Never, stale: false));

        await done.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("v", flight.Result.Value);
        Assert.Equal(42, flight.Result.CreatedUtcTicks);
    }

    [Fact]
    public void WhenDone_AskedAfterCompletion_IsAlreadyCompleted()
    {
        using var flight = new Flight();
        flight.Complete(new FlightResult("v", 1, EntryLifetime.Never, stale: false));

        Assert.True(flight.IsCompleted);
        Assert.True(flight.WhenDone().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Fail_BeforeOrAfterAWaiterAsks_EveryWaiterGetsTheSameException()
    {
        using var flight = new Flight();
        Task early = flight.WhenDone();
        var failure = new InvalidOperationException("creator failed");

        flight.Fail(failure);

        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => early));
        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => flight.WhenDone()));
    }

    [Fact]
    public void RemoveWaiter_LastWaiterLeavesBeforeCompletion_CancelsTheCreationAndRefusesNewWaiters()
    {
        using var flight = new Flight();
        Assert.True(flight.TryAddWaiter());
        Assert.True(flight.TryAddWaiter());

        flight.RemoveWaiter();
        Assert.False(flight.IsCancellationRequested);
        flight.RemoveWaiter();

        Assert.True(flight.IsCancellationRequested);
        Assert.False(flight.TryAddWaiter());
    }

    [Fact]
    public void RemoveWaiter_AfterCompletion_DoesNotCancel()
    {
        using var flight = new Flight();
        Assert.True(flight.TryAddWaiter());
        flight.Complete(new FlightResult("v", 1, EntryLifetime.Never, stale: false));

        flight.RemoveWaiter();

        Assert.False(flight.IsCancellationRequested);
    }
}
