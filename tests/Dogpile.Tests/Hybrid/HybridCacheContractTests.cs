using Microsoft.Extensions.Caching.Hybrid;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Tests.Hybrid;

/// <summary>
/// HybridCache's contract, run against Microsoft's implementation and Dogpile's. Where the two are meant to agree, the
/// test is written once here; where Dogpile differs on purpose, the test is virtual and Dogpile's subclass overrides it
/// with the reason (docs/hybridcache.md has the same list).
/// </summary>
/// <remarks>
/// Both caches run on the system clock: Microsoft's local level times entries out on its own clock, so the two tests
/// that need expiry use a short expiration and a real wait rather than a fake clock.
/// </remarks>
public abstract class HybridCacheContractTests : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    protected HybridCacheContractTests()
    {
        var services = new ServiceCollection();
        Register(services);
        _services = services.BuildServiceProvider();
        Cache = _services.GetRequiredService<HybridCache>();
    }

    protected HybridCache Cache { get; }

    protected abstract void Register(IServiceCollection services);

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return _services.DisposeAsync();
    }

    protected static Func<CancellationToken, ValueTask<T>> Counting<T>(StrongBox<int> calls, Func<int, T> produce)
        => _ => new ValueTask<T>(produce(Interlocked.Increment(ref calls.Value)));

    [Fact]
    public async Task GetOrCreate_Miss_RunsFactoryOnce_ThenServesTheCachedValue()
    {
        var calls = new StrongBox<int>();
        Assert.Equal("v1", await Cache.GetOrCreateAsync("k", Counting(calls, n => "v" + n)));
        Assert.Equal("v1", await Cache.GetOrCreateAsync("k", Counting(calls, n => "v" + n)));
        Assert.Equal(1, calls.Value);
    }

    [Fact]
    public async Task GetOrCreate_StateOverload_PassesTheState()
    {
        int value = await Cache.GetOrCreateAsync("k", 41, static (state, _) => new ValueTask<int>(state + 1));
        Assert.Equal(42, value);
        Assert.Equal(42, await Cache.GetOrCreateAsync("k", 0, static (_, _) => new ValueTask<int>(-1)));
    }

    [Fact]
    public async Task GetOrCreate_ContextOverload_RunsTheFactoryOnce_ThenServesTheCachedValue()
    {
        int calls = 0;
        Func<HybridCacheEntryContext, CancellationToken, ValueTask<string>> factory = (_, _) => new ValueTask<string>("v" + Interlocked.Increment(ref calls));
        Assert.Equal("v1", await Cache.GetOrCreateAsync("k", factory));
        Assert.Equal("v1", await Cache.GetOrCreateAsync("k", factory));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Set_ThenGetOrCreate_ReturnsTheSetValueWithoutTheFactory()
    {
        await Cache.SetAsync("k", "set");
        var calls = new StrongBox<int>();
        Assert.Equal("set", await Cache.GetOrCreateAsync("k", Counting(calls, _ => "created")));
        Assert.Equal(0, calls.Value);

        await Cache.SetAsync("k", "replaced");
        Assert.Equal("replaced", await Cache.GetOrCreateAsync("k", Counting(calls, _ => "created")));
    }

    [Fact]
    public async Task Remove_OneAndMany_NextGetOrCreateRunsTheFactory()
    {
        await Cache.SetAsync("a", "a");
        await Cache.SetAsync("b", "b");
        await Cache.SetAsync("c", "c");

        await Cache.RemoveAsync("a");
        await Cache.RemoveAsync(["b", "c", "never-set"]);

        var calls = new StrongBox<int>();
        foreach (string key in new[] { "a", "b", "c" })
        {
            Assert.Equal("new", await Cache.GetOrCreateAsync(key, Counting(calls, _ => "new")));
        }

        Assert.Equal(3, calls.Value);
    }

    [Fact]
    public async Task RemoveByTag_EntriesCarryingTheTagAreRecreated_OthersKept()
    {
        var calls = new StrongBox<int>();
        Assert.Equal("p1", await Cache.GetOrCreateAsync("p1", Counting(calls, _ => "p1"), tags: ["product", "product:1"]));
        await Cache.SetAsync("p2", "p2", tags: ["product", "product:2"]);
        await Cache.SetAsync("u", "u", tags: ["user"]);
        await Cache.SetAsync("plain", "plain");

        await Cache.RemoveByTagAsync("product:1");
        Assert.Equal("p1-new", await Cache.GetOrCreateAsync("p1", Counting(calls, _ => "p1-new")));
        Assert.Equal("p2", await Cache.GetOrCreateAsync("p2", Counting(calls, _ => "p2-new")));

        await Cache.RemoveByTagAsync(["product", "nothing-has-this"]);
        Assert.Equal("p2-new", await Cache.GetOrCreateAsync("p2", Counting(calls, _ => "p2-new")));
        Assert.Equal("u", await Cache.GetOrCreateAsync("u", Counting(calls, _ => "u-new")));
        Assert.Equal("plain", await Cache.GetOrCreateAsync("plain", Counting(calls, _ => "plain-new")));
    }

    [Fact]
    public async Task RemoveByTag_Wildcard_EverythingIsRecreated()
    {
        await Cache.SetAsync("tagged", "old", tags: ["t"]);
        await Cache.SetAsync("plain", "old");

        await Cache.RemoveByTagAsync("*");

        Assert.Equal("new", await Cache.GetOrCreateAsync("tagged", _ => new ValueTask<string>("new")));
        Assert.Equal("new", await Cache.GetOrCreateAsync("plain", _ => new ValueTask<string>("new")));
        await Cache.SetAsync("after", "kept");
        Assert.Equal("kept", await Cache.GetOrCreateAsync("after", _ => new ValueTask<string>("new")));
    }

    [Fact]
    public async Task GetOrCreate_ConcurrentCallersOfAMissingKey_OneFactoryRun_SameValueForAll()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        Task<string>[] callers = [.. Enumerable.Range(0, 20).Select(_ => Cache.GetOrCreateAsync("k", async ct =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task.WaitAsync(ct);
            return "once";
        }).AsTask())];

        gate.SetResult();
        string[] values = await Task.WhenAll(callers);

        Assert.Equal(1, calls);
        Assert.All(values, v => Assert.Equal("once", v));
    }

    [Fact]
    public async Task GetOrCreate_FactoryThrowsWithNothingCached_CallerGetsTheException_NextCallRetries()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Cache.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("upstream down")));

        Assert.Equal("ok", await Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("ok")));
    }

    [Fact]
    public async Task DisableUnderlyingData_MissReturnsDefaultWithoutTheFactory_HitReturnsTheValue()
    {
        var options = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
        var calls = new StrongBox<int>();
        Assert.Null(await Cache.GetOrCreateAsync("k", Counting<string?>(calls, _ => "created"), options));
        Assert.Equal(0, calls.Value);

        await Cache.SetAsync("k", "cached");
        Assert.Equal("cached", await Cache.GetOrCreateAsync("k", Counting<string?>(calls, _ => "created"), options));
        Assert.Equal(0, calls.Value);
    }

    [Fact]
    public async Task DisableLocalCacheWrite_OnlyLocalLevel_ValueNotKept()
    {
        var options = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheWrite };
        var calls = new StrongBox<int>();
        Assert.Equal("v1", await Cache.GetOrCreateAsync("k", Counting(calls, n => "v" + n), options));
        Assert.Equal("v2", await Cache.GetOrCreateAsync("k", Counting(calls, n => "v" + n)));

        await Cache.SetAsync("s", "set", options);
        Assert.Equal("created", await Cache.GetOrCreateAsync("s", _ => new ValueTask<string>("created")));
    }

    [Fact]
    public async Task DisableLocalCacheRead_OnlyLocalLevel_FactoryRuns_AndItsValueIsKept()
    {
        await Cache.SetAsync("k", "old");
        var options = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheRead };

        Assert.Equal("fresh", await Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("fresh"), options));

        Assert.Equal("fresh", await Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("unused")));
    }

    [Fact]
    public async Task DistributedFlags_OnlyLocalLevel_ChangeNothing()
    {
        var options = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCache | HybridCacheEntryFlags.DisableCompression };
        Assert.Equal("v", await Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("v"), options));
        Assert.Equal("v", await Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("unused"), options));
    }

    /// <summary>A reference-type value that is not marked immutable.</summary>
    public sealed class Mutable
    {
        public int Id { get; set; }
    }

    [Fact]
    public virtual async Task Hit_MutableObject_EachCallerGetsItsOwnCopy()
    {
        Mutable first = await Cache.GetOrCreateAsync("k", _ => new ValueTask<Mutable>(new Mutable { Id = 1 }));
        first.Id = 99;
        Mutable second = await Cache.GetOrCreateAsync("k", _ => new ValueTask<Mutable>(new Mutable { Id = 2 }));
        Assert.NotSame(first, second);
        Assert.Equal(1, second.Id);
    }

    [Fact]
    public virtual async Task GetOrCreate_EmptyKey_FactoryRunsAndItsValueIsNotCached()
    {
        var calls = new StrongBox<int>();
        Assert.Equal("v1", await Cache.GetOrCreateAsync("", Counting(calls, n => "v" + n)));
        Assert.Equal("v2", await Cache.GetOrCreateAsync("", Counting(calls, n => "v" + n)));
    }

    [Fact]
    public virtual async Task Expired_FactoryThrows_CallerGetsTheException()
    {
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(100), LocalCacheExpiration = TimeSpan.FromMilliseconds(100) };
        await Cache.SetAsync("k", "old", options);
        await Task.Delay(300);

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Cache.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("upstream down"), options));
    }

    [Fact]
    public async Task Expired_FactoryWorks_CallerGetsTheNewValue()
    {
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(100), LocalCacheExpiration = TimeSpan.FromMilliseconds(100) };
        await Cache.SetAsync("k", "old", options);
        await Task.Delay(300);

        // A lone caller of an expired key waits for the new value in both (Dogpile's default, BackgroundRefresh off,
        // regenerates in line for the caller it elects).
        Assert.Equal("new", await Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("new"), options));
    }
}

public sealed class MicrosoftHybridCacheContractTests : HybridCacheContractTests
{
    protected override void Register(IServiceCollection services) => services.AddHybridCache();
}

public sealed class DogpileHybridCacheContractTests : HybridCacheContractTests
{
    protected override void Register(IServiceCollection services) => services.AddDogpileHybridCache();

    /// <summary>
    /// Differs on purpose: Dogpile hands every caller the same cached instance, like IMemoryCache and FusionCache, so a
    /// hit costs no copy and no allocation. Microsoft's copies values not marked immutable (through its serializer) to
    /// protect callers that mutate them; with Dogpile, do not mutate a cached object.
    /// </summary>
    [Fact]
    public override async Task Hit_MutableObject_EachCallerGetsItsOwnCopy()
    {
        Mutable first = await Cache.GetOrCreateAsync("k", _ => new ValueTask<Mutable>(new Mutable { Id = 1 }));
        Mutable second = await Cache.GetOrCreateAsync("k", _ => new ValueTask<Mutable>(new Mutable { Id = 2 }));
        Assert.Same(first, second);
    }

    /// <summary>
    /// Differs on purpose: a key Dogpile cannot cache is a caller's bug, reported at once as everywhere in Dogpile,
    /// rather than a cache that silently stops caching.
    /// </summary>
    [Fact]
    public override async Task GetOrCreate_EmptyKey_FactoryRunsAndItsValueIsNotCached()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Cache.GetOrCreateAsync("", _ => new ValueTask<string>("v")));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Cache.GetOrCreateAsync(null!, _ => new ValueTask<string>("v")));
    }

    /// <summary>
    /// Differs on purpose (stale-if-error): an expired value within the region's stale window is kept, and when its
    /// creator fails the caller gets it instead of the exception; the key then backs off instead of retrying at once.
    /// </summary>
    [Fact]
    public override async Task Expired_FactoryThrows_CallerGetsTheException()
    {
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMilliseconds(100), LocalCacheExpiration = TimeSpan.FromMilliseconds(100) };
        await Cache.SetAsync("k", "old", options);
        await Task.Delay(300);

        Assert.Equal("old", await Cache.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("upstream down"), options));
    }
}
