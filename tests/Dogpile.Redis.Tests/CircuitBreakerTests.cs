using Dogpile.Internal;
using Microsoft.Extensions.Time.Testing;

namespace Dogpile.Redis.Tests;

/// <summary>The connection breaker on fake time: open after a failure, one probe per interval, doubling, reset on success.</summary>
public sealed class CircuitBreakerTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    private static (CircuitBreaker Breaker, FakeTimeProvider Time) Create()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        return (new CircuitBreaker(Min, Max, time), time);
    }

    [Fact]
    public void Closed_EveryCallAllowed()
    {
        (CircuitBreaker breaker, _) = Create();
        Assert.Equal(BreakerAdmission.Allowed, breaker.TryEnter());
        breaker.OnSuccess(BreakerAdmission.Allowed);
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(0, breaker.TimesOpened);
    }

    [Fact]
    public void Failure_OpensForTheMinimum_CallsRejectedUntilThen_ThenOneProbeAtATime()
    {
        (CircuitBreaker breaker, FakeTimeProvider time) = Create();
        Assert.True(breaker.OnFailure(breaker.TryEnter(), new TimeoutException("t")));

        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.Equal(BreakerAdmission.Rejected, breaker.TryEnter());
        Assert.Equal(Min, breaker.RetryIn);
        time.Advance(Min - TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerAdmission.Rejected, breaker.TryEnter());

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        Assert.Equal(BreakerAdmission.Probe, breaker.TryEnter());
        // While the probe is out, every other call still fails at once.
        Assert.Equal(BreakerAdmission.Rejected, breaker.TryEnter());
        Assert.Equal(BreakerAdmission.Rejected, breaker.TryEnter());
    }

    [Fact]
    public void FailedProbes_DoubleTheInterval_UpToTheMaximum()
    {
        (CircuitBreaker breaker, FakeTimeProvider time) = Create();
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        var expected = new[] { 500, 1000, 2000, 4000, 5000, 5000 };
        foreach (int ms in expected)
        {
            time.Advance(breaker.RetryIn);
            BreakerAdmission probe = breaker.TryEnter();
            Assert.Equal(BreakerAdmission.Probe, probe);
            Assert.False(breaker.OnFailure(probe, new TimeoutException()));
            Assert.Equal(TimeSpan.FromMilliseconds(ms), breaker.RetryIn);
        }

        Assert.Equal(1, breaker.TimesOpened);
    }

    [Fact]
    public void SuccessfulProbe_Closes_AndTheNextFailureStartsAtTheMinimumAgain()
    {
        (CircuitBreaker breaker, FakeTimeProvider time) = Create();
        TimeSpan? closedAfter = null;
        breaker.Closed += d => closedAfter = d;
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        time.Advance(Min);
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        time.Advance(TimeSpan.FromMilliseconds(500));

        BreakerAdmission probe = breaker.TryEnter();
        breaker.OnSuccess(probe);

        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(TimeSpan.FromMilliseconds(750), closedAfter);
        Assert.Null(breaker.LastFailure);
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        Assert.Equal(Min, breaker.RetryIn);
        Assert.Equal(2, breaker.TimesOpened);
    }

    [Fact]
    public void FailureOfACallAdmittedBeforeItOpened_DoesNotExtendTheInterval()
    {
        (CircuitBreaker breaker, FakeTimeProvider time) = Create();
        BreakerAdmission first = breaker.TryEnter();
        BreakerAdmission second = breaker.TryEnter();
        breaker.OnFailure(first, new TimeoutException());
        time.Advance(TimeSpan.FromMilliseconds(200));

        Assert.False(breaker.OnFailure(second, new TimeoutException("late")));

        Assert.Equal(TimeSpan.FromMilliseconds(50), breaker.RetryIn);
        Assert.Equal("late", breaker.LastFailure!.Message);
    }

    [Fact]
    public void AbandonedProbe_GivesItsTurnBack()
    {
        (CircuitBreaker breaker, FakeTimeProvider time) = Create();
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        time.Advance(Min);
        BreakerAdmission probe = breaker.TryEnter();
        Assert.Equal(BreakerAdmission.Rejected, breaker.TryEnter());

        breaker.OnAbandoned(probe);

        Assert.Equal(BreakerAdmission.Probe, breaker.TryEnter());
    }

    [Fact]
    public void ProbeNow_LetsTheNextCallProbeBeforeTheIntervalIsOut()
    {
        (CircuitBreaker breaker, _) = Create();
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        Assert.Equal(BreakerAdmission.Rejected, breaker.TryEnter());

        breaker.ProbeNow();

        Assert.Equal(BreakerAdmission.Probe, breaker.TryEnter());
    }

    [Fact]
    public void ZeroMinimum_EveryCallProbesInTurn()
    {
        var time = new FakeTimeProvider();
        var breaker = new CircuitBreaker(TimeSpan.Zero, Max, time);
        breaker.OnFailure(breaker.TryEnter(), new TimeoutException());
        BreakerAdmission probe = breaker.TryEnter();
        Assert.Equal(BreakerAdmission.Probe, probe);
        breaker.OnFailure(probe, new TimeoutException());
        Assert.Equal(BreakerAdmission.Probe, breaker.TryEnter());
    }
}
