using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>
/// A creator slower than <see cref="CacheRegionOptions.LockTimeout"/>, with callers that give up waiting for it: the
/// waiters get a clear timeout, nothing is left locked, and the key is created and refreshed normally afterwards.
/// </summary>
public sealed class SlowCreatorFaultTests
{
    [Fact]
    public async Task GetOrCreateMany_TimesOutBehindASlowCreator_KeyIsNotLockedForeverAfterwards()
    {
        await using var t = new TestRegion(o => o.LockTimeout = TimeSpan.FromSeconds(1));
        var slow = new ControlledCreator<string>(n => "v" + n);
        slow.Hold();
        // An upstream call that ignores cancellation: it finishes whoever gave up waiting for it.
        Task<string> creation = t.Region.GetOrCreateAsync("k", _ => slow.CreateAsync(CancellationToken.None)).AsTask();
        await slow.Started.Task;

        // A multi-key caller queues behind the creation and times out (its wait on the key's gate is abandoned).
        Task<string[]> many = t.Region.GetOrCreateManyAsync<string>(["k"], (keys, _) => new(keys.Select(k => "many").ToArray())).AsTask();
        Assert.False(many.IsCompleted);
        t.Time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<CacheLockTimeoutException>(() => many);

        // Every caller waits at most LockTimeout, the one that started the creation too; the creation goes on.
        await Assert.ThrowsAsync<CacheLockTimeoutException>(() => creation);

        // Someone else is waiting when the slow creation finishes.
        Task<string[]> waiting = t.Region.GetOrCreateManyAsync<string>(["k"], (keys, _) => new(keys.Select(k => "late").ToArray())).AsTask();
        slow.Release();
        Assert.Equal(["v1"], await waiting.WaitAsync(TimeSpan.FromSeconds(10)));

        // The key is not wedged: after expiry a refresh and a cold read both run, and no lock wait times out.
        t.Time.Advance(TimeSpan.FromMinutes(20));
        Task<string> cold = t.Region.GetOrCreateAsync("k", slow.CreateAsync).AsTask();
        Assert.Equal("v2", await cold.WaitAsync(TimeSpan.FromSeconds(10)));
        Task<string[]> again = t.Region.GetOrCreateManyAsync<string>(["k", "other"], (keys, _) => new(keys.Select(k => "m-" + k).ToArray())).AsTask();
        Assert.Equal(["v2", "m-other"], await again.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, t.Region.GetStatistics().LockTimeouts);
    }

    [Fact]
    public async Task CachedFunctionRefresh_AfterATimedOutWaiter_RunsInsteadOfHanging()
    {
        await using var t = new TestRegion(o => o.LockTimeout = TimeSpan.FromSeconds(1));
        var slow = new ControlledCreator<string>(n => "v" + n);
        CachedFunction<string, string> fn = t.Region.CreateFunction<string, string>("f", (_, _) => slow.CreateAsync(CancellationToken.None));
        slow.Hold();
        Task<string> first = fn.InvokeAsync("a").AsTask();
        await slow.Started.Task;

        Task<string[]> many = t.Region.GetOrCreateManyAsync<string>([fn.KeyFor("a")], (keys, _) => new(keys.Select(_ => "x").ToArray())).AsTask();
        Assert.False(many.IsCompleted);
        t.Time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<CacheLockTimeoutException>(() => many);
        await Assert.ThrowsAsync<CacheLockTimeoutException>(() => first);
        Task<string[]> second = t.Region.GetOrCreateManyAsync<string>([fn.KeyFor("a")], (keys, _) => new(keys.Select(_ => "x").ToArray())).AsTask();
        slow.Release();
        Assert.Equal(["v1"], await second.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal("v2", await fn.RefreshAsync("a").AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
