using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Functions;

/// <summary>dogpile's cache_multi_on_arguments: one call of the function for the arguments that need results, one key per argument.</summary>
public sealed class CachedManyFunctionTests
{
    private sealed class Tracker
    {
        public List<IReadOnlyList<string>> Calls { get; } = [];

        public ValueTask<IReadOnlyList<int>> BugCountsAsync(IReadOnlyList<string> packages, CancellationToken _)
        {
            Calls.Add(packages);
            return new(packages.Select(p => p.Length * (Calls.Count)).ToArray());
        }
    }

    [Fact]
    public async Task Invoke_CallsTheFunctionOnceWithOnlyTheMissingArguments_ResultsInOrder()
    {
        await using var t = new TestRegion();
        var tracker = new Tracker();
        CachedManyFunction<string, int> counts = t.Region.CreateManyFunction<string, int>("counts", tracker.BugCountsAsync);
        await counts.SetAsync("bash", 100);

        int[] first = await counts.InvokeAsync(["kernel", "bash", "gcc", "kernel"]);

        Assert.Equal([6, 100, 3, 6], first);
        Assert.Equal(["gcc", "kernel"], Assert.Single(tracker.Calls));

        int[] second = await counts.InvokeAsync(["gcc", "kernel", "bash"]);
        Assert.Equal([3, 6, 100], second);
        Assert.Single(tracker.Calls);
    }

    [Fact]
    public async Task Keys_AreTheSingleArgumentFunctionsKeys()
    {
        await using var t = new TestRegion();
        var tracker = new Tracker();
        CachedManyFunction<string, int> counts = t.Region.CreateManyFunction<string, int>("counts", tracker.BugCountsAsync);

        await counts.InvokeAsync(["kernel"]);

        Assert.Equal("counts:kernel", counts.KeyFor("kernel"));
        Assert.Equal(6, (await t.Region.GetAsync<int>("counts:kernel")).Value);
        Assert.True(t.Region.IsFunctionRegistered("counts"));
    }

    [Fact]
    public async Task InvalidateSetAndRefresh_WorkPerArgument()
    {
        await using var t = new TestRegion();
        var tracker = new Tracker();
        CachedManyFunction<string, int> counts = t.Region.CreateManyFunction<string, int>("counts", tracker.BugCountsAsync);
        await counts.InvokeAsync(["kernel", "gcc"]);

        Assert.True(await counts.InvalidateAsync("gcc"));
        Assert.Equal(new[] { 6, 6 }, await counts.InvokeAsync(["kernel", "gcc"]));
        Assert.Equal(["gcc"], tracker.Calls[1]);

        await counts.SetAsync("kernel", 42);
        CacheResult<int>[] read = await counts.GetAsync(["kernel", "gcc", "bash"]);
        Assert.Equal(42, read[0].Value);
        Assert.False(read[2].HasValue);

        // Refresh regenerates whatever is cached, in one call, and stores the new results.
        Assert.Equal(new[] { 18, 9 }, await counts.RefreshAsync(["kernel", "gcc"]));
        Assert.Equal(["gcc", "kernel"], tracker.Calls[2]);
        Assert.Equal(new[] { 18, 9 }, await counts.InvokeAsync(["kernel", "gcc"]));
        Assert.Equal(3, tracker.Calls.Count);
    }

    [Fact]
    public async Task StaleKey_RefreshedInTheBackgroundWithItsOneArgument_AsARegisteredFunction()
    {
        var runner = new RecordingRunner();
        await using var t = new TestRegion(o => { o.BackgroundRefresh = true; o.RefreshRunner = runner; });
        var tracker = new Tracker();
        CachedManyFunction<string, int> counts = t.Region.CreateManyFunction<string, int>("counts", tracker.BugCountsAsync);
        await counts.InvokeAsync(["kernel", "gcc"]);
        t.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(new[] { 6, 3 }, await counts.InvokeAsync(["kernel", "gcc"]));

        // Each stale key's refresh names the function and carries its argument, so a worker could run it.
        Assert.Equal(2, runner.Requests.Count);
        Assert.All(runner.Requests, r => Assert.Equal("counts", r.FunctionName));
        foreach (RefreshRequest request in runner.Requests)
        {
            Assert.True(t.Region.TryPrepareRegisteredRefresh("counts", request.SerializeArguments(), out RegisteredRefresh? refresh, out _));
            Assert.Equal(request.Key, refresh!.Key);
            await request.RunAsync(CancellationToken.None);
        }

        Assert.Equal(["kernel"], tracker.Calls.Single(c => c.Contains("kernel") && c.Count == 1));
        Assert.Equal(["gcc"], tracker.Calls.Single(c => c.Contains("gcc") && c.Count == 1));
    }

    [Fact]
    public async Task FunctionReturningTheWrongCount_ClearError()
    {
        await using var t = new TestRegion();
        CachedManyFunction<string, int> broken = t.Region.CreateManyFunction<string, int>("broken", (args, _) => new ValueTask<IReadOnlyList<int>>([1]));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await broken.InvokeAsync(["a", "b"]));
        Assert.Contains("returned 1", ex.Message, StringComparison.Ordinal);
    }

    private sealed class RecordingRunner : IRefreshRunner
    {
        public List<RefreshRequest> Requests { get; } = [];

        public ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return new(true);
        }
    }
}
