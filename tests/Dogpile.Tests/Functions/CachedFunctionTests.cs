using System.Text;
using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Functions;

/// <summary>The cache_on_arguments counterpart.</summary>
public sealed class CachedFunctionTests
{
    [Fact]
    public async Task Invoke_CachesPerArguments_OriginalFunctionAvailable()
    {
        await using var t = new TestRegion();
        int calls = 0;
        CachedFunction<string, string> bugs = t.Region.CreateFunction<string, string>("bugs", (pkg, ct) =>
        {
            calls++;
            return new ValueTask<string>($"bugs of {pkg}");
        });

        Assert.Equal("bugs of kernel", await bugs.InvokeAsync("kernel"));
        Assert.Equal("bugs of kernel", await bugs.InvokeAsync("kernel"));
        Assert.Equal("bugs of glibc", await bugs.InvokeAsync("glibc"));
        Assert.Equal(2, calls);
        Assert.Equal("bugs of x", await bugs.Function("x", default));
        Assert.Equal(3, calls);
        Assert.Equal("bugs", bugs.Name);
    }

    [Fact]
    public async Task Invoke_FreshHitWithValueTupleArguments_AllocatesOnlyTheKey()
    {
        await using var t = new TestRegion();
        var f = t.Region.CreateFunction<(int, int), int>("sum", (a, _) => new ValueTask<int>(a.Item1 + a.Item2), keyBuilder: static _ => "fixed");
        await f.InvokeAsync((1, 2));
        for (int i = 0; i < 100; i++)
        {
            _ = f.InvokeAsync((1, 2)).Result;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(f.InvokeAsync((1, 2)).IsCompletedSuccessfully);
        }

        // The key string ("sum:fixed") is built per call; the arguments are never boxed on a hit.
        long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        Assert.InRange(perCall, 0, 64);
    }

    [Fact]
    public async Task SetGetInvalidateRefresh_ActOnTheArgumentsKey()
    {
        await using var t = new TestRegion();
        int calls = 0;
        CachedFunction<(string Package, int Page), string> page = t.Region.CreateFunction<(string, int), string>(
            "page", (args, ct) => new ValueTask<string>($"{args.Item1}#{args.Item2}@{++calls}"));

        await page.SetAsync(("kernel", 1), "preset");
        Assert.Equal("preset", (await page.GetAsync(("kernel", 1))).Value);
        Assert.Equal("preset", await page.InvokeAsync(("kernel", 1)));

        Assert.Equal("kernel#1@1", await page.RefreshAsync(("kernel", 1)));
        Assert.Equal("kernel#1@1", await page.InvokeAsync(("kernel", 1)));

        Assert.True(await page.InvalidateAsync(("kernel", 1)));
        Assert.False((await page.GetAsync(("kernel", 1))).HasValue);
        Assert.Equal("kernel#1@2", await page.InvokeAsync(("kernel", 1)));
        Assert.Equal("kernel#2@3", await page.InvokeAsync(("kernel", 2)));
    }

    [Fact]
    public async Task Keys_BuiltFromNameAndArguments_Documented()
    {
        await using var t = new TestRegion();
        var f = t.Region.CreateFunction<(string, int, bool), int>("f", (_, _) => new ValueTask<int>(1));
        var g = t.Region.CreateFunction<string, int>("g", (_, _) => new ValueTask<int>(1));
        var h = t.Region.CreateFunction<Query, int>("h", (_, _) => new ValueTask<int>(1));
        var custom = t.Region.CreateFunction<string, int>("c", (_, _) => new ValueTask<int>(1), keyBuilder: s => s.ToUpperInvariant());

        Assert.Equal("f:kernel|2|true", f.KeyFor(("kernel", 2, true)));
        Assert.Equal(@"g:a\|b", g.KeyFor("a|b"));
        Assert.Equal(@"g:\0", g.KeyFor(null!));
        Assert.Equal("""h:{"package":"kernel","page":3}""", h.KeyFor(new Query("kernel", 3)));
        Assert.Equal("c:KERNEL", custom.KeyFor("kernel"));
        // Separators in arguments cannot make two argument lists collide.
        var two = t.Region.CreateFunction<(string, string), int>("two", (_, _) => new ValueTask<int>(1));
        Assert.NotEqual(two.KeyFor(("a|b", "c")), two.KeyFor(("a", "b|c")));
    }

    [Fact]
    public async Task CreateFunction_DuplicateOrBadName_ClearException()
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<string, int>("dup", (_, _) => new ValueTask<int>(1));
        Assert.Contains("already registered", Assert.Throws<ArgumentException>(() => t.Region.CreateFunction<string, int>("dup", (_, _) => new ValueTask<int>(1))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => t.Region.CreateFunction<string, int>("a:b", (_, _) => new ValueTask<int>(1)));
        Assert.Throws<ArgumentException>(() => t.Region.CreateFunction<string, int>(" ", (_, _) => new ValueTask<int>(1)));
    }

    [Fact]
    public async Task BackgroundRefresh_RequestCarriesFunctionNameAndSerializedArguments()
    {
        var runner = new CapturingRunner();
        await using var t = new TestRegion(o =>
        {
            o.BackgroundRefresh = true;
            o.RefreshRunner = runner;
        });
        var bugs = t.Region.CreateFunction<(string, int), string>("bugs", (a, _) => new ValueTask<string>($"{a.Item1}:{a.Item2}"));
        await bugs.InvokeAsync(("kernel", 7));
        t.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal("kernel:7", await bugs.InvokeAsync(("kernel", 7)));

        RefreshRequest request = Assert.Single(runner.Requests);
        Assert.Equal("bugs", request.FunctionName);
        Assert.Equal("bugs:kernel|7", request.Key);
        Assert.Equal("""{"item1":"kernel","item2":7}""", Encoding.UTF8.GetString(request.SerializeArguments().Span));
        await request.ReleaseAsync();
    }

    [Fact]
    public async Task RunRegisteredRefresh_FromSerializedArguments_RefreshesStaleKeyAndSkipsFreshOne()
    {
        await using var t = new TestRegion();
        int calls = 0;
        var bugs = t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>($"{pkg}-{++calls}"));
        await bugs.InvokeAsync("kernel");
        byte[] args = Encoding.UTF8.GetBytes("\"kernel\"");
        var heldLock = new FakeLock("bugs:kernel");

        Assert.Equal(RefreshOutcome.SkippedFresh, await t.Region.RunRegisteredRefreshAsync("bugs", args, heldLock));
        Assert.Equal(1, heldLock.Releases);
        Assert.Equal(1, calls);

        t.Time.Advance(TimeSpan.FromMinutes(2));
        heldLock = new FakeLock("bugs:kernel");
        Assert.Equal(RefreshOutcome.Refreshed, await t.Region.RunRegisteredRefreshAsync("bugs", args, heldLock));
        Assert.Equal(1, heldLock.Releases);
        Assert.Equal("kernel-2", (await bugs.GetAsync("kernel")).Value);
    }

    [Fact]
    public async Task RunRegisteredRefresh_UnknownFunctionOrMalformedArguments_ClearExceptionAndLockReleased()
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<int, int>("square", (x, _) => new ValueTask<int>(x * x));

        var unknownLock = new FakeLock("x");
        var unknown = await Assert.ThrowsAsync<CacheFunctionNotFoundException>(async () =>
            await t.Region.RunRegisteredRefreshAsync("nope", Encoding.UTF8.GetBytes("1"), unknownLock));
        Assert.Contains("'nope'", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(1, unknownLock.Releases);

        var badLock = new FakeLock("x");
        await Assert.ThrowsAsync<CacheSerializationException>(async () =>
            await t.Region.RunRegisteredRefreshAsync("square", Encoding.UTF8.GetBytes("{not json"), badLock));
        Assert.Equal(1, badLock.Releases);
    }

    [Fact]
    public async Task RunRegisteredRefresh_FunctionThrows_ExceptionPropagatesAndLockReleasedOnce()
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<int, int>("boom", (_, _) => throw new InvalidOperationException("upstream"));
        var heldLock = new FakeLock("boom:1");

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await t.Region.RunRegisteredRefreshAsync("boom", Encoding.UTF8.GetBytes("1"), heldLock));
        Assert.Equal(1, heldLock.Releases);
    }

    [Fact]
    public async Task WorksOverSerializingBackend()
    {
        await using var t = new TestRegion(backend: new BytesMemoryBackend(TimeProvider.System));
        var f = t.Region.CreateFunction<Query, Query>("echo", (q, _) => new ValueTask<Query>(q with { Page = q.Page + 1 }));
        Assert.Equal(new Query("k", 2), await f.InvokeAsync(new Query("k", 1)));
        Assert.Equal(new Query("k", 2), (await f.GetAsync(new Query("k", 1))).Value);
    }

    public sealed record Query(string Package, int Page);

    private sealed class CapturingRunner : IRefreshRunner
    {
        public List<RefreshRequest> Requests { get; } = [];

        public ValueTask<bool> TryScheduleAsync(RefreshRequest request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return new ValueTask<bool>(true);
        }
    }
}

/// <summary>A lock handle that counts releases, standing in for one restored from a job.</summary>
internal sealed class FakeLock(string key) : ICacheLock
{
    public int Releases;

    public string Key => key;

    public string OwnerToken { get; } = Guid.NewGuid().ToString("N");

    public long FencingToken => 1;

    public ValueTask<bool> ExtendAsync(TimeSpan lease, CancellationToken cancellationToken) => new(Releases == 0);

    public ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Releases);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ReleaseAsync();
}
