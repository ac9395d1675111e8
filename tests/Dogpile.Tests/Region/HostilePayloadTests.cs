using System.Text;
using Dogpile.Testing;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Region;

/// <summary>
/// Payloads in a shared store that parse but are not valid values, or carry a lying header, are misses: never served,
/// logged and counted, and created again.
/// </summary>
public sealed class HostilePayloadTests
{
    private sealed record BugList(string Package, string[] Bugs);

    private static bool IsValidBugList(object? value)
        => value is BugList { Package.Length: > 0, Bugs: { } bugs } && Array.TrueForAll(bugs, b => b is not null);

    [Theory]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("{\"Package\":\"kernel\",\"Bugs\":[null]}")]
    [InlineData("{\"Package\":\"kernel\"}")]
    public async Task PayloadFailingTheValidator_IsAMiss_CountedAndCreatedAgain(string json)
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(o => o.ValueValidator = IsValidBugList, backend);
        await t.Region.SetAsync("kernel", new BugList("kernel", ["1"]));
        backend.Corrupt("kernel", Envelope(json, t.Time.GetUtcNow().UtcTicks));

        int calls = 0;
        BugList list = await t.Region.GetOrCreateAsync("kernel", _ => { calls++; return new ValueTask<BugList>(new BugList("kernel", ["2"])); });

        Assert.Equal(1, calls);
        Assert.Equal(["2"], list.Bugs);
        // Counted at the first read and again at the re-read under the lock: both saw the bad payload.
        Assert.InRange(t.Region.GetStatistics().UnreadableEntries, 1, 2);
        Assert.Equal(["2"], (await t.Region.GetAsync<BugList>("kernel")).Value.Bugs);
    }

    [Fact]
    public async Task ValidPayload_PassesTheValidator_AndIsServed()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(o => o.ValueValidator = IsValidBugList, backend);
        await t.Region.SetAsync("kernel", new BugList("kernel", ["1"]));
        backend.Corrupt("kernel", Envelope("{\"Package\":\"kernel\",\"Bugs\":[\"7\"]}", t.Time.GetUtcNow().UtcTicks));

        BugList list = await t.Region.GetOrCreateAsync<BugList>("kernel", _ => throw new InvalidOperationException("must not create"));

        Assert.Equal(["7"], list.Bugs);
        Assert.Equal(0, t.Region.GetStatistics().UnreadableEntries);
    }

    [Fact]
    public async Task EntryStampedInTheFuture_IsServedStaleAndRefreshedOnce_NotFreshUntilItsTtl()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(o => o.BackgroundRefresh = false, backend);
        await t.Region.SetAsync("kernel", new BugList("kernel", ["1"]));

        // A writer whose clock runs 10 minutes fast: trusted, its value would stay fresh for 11 minutes.
        long future = t.Time.GetUtcNow().AddMinutes(10).UtcTicks;
        backend.Corrupt("kernel", Envelope("{\"Package\":\"kernel\",\"Bugs\":[\"fast\"]}", future));
        Assert.False((await t.Region.GetAsync<BugList>("kernel")).HasValue);

        int calls = 0;
        BugList list = await t.Region.GetOrCreateAsync("kernel", _ => { calls++; return new ValueTask<BugList>(new BugList("kernel", ["2"])); });

        Assert.Equal(1, calls);
        Assert.Equal(["2"], list.Bugs);
        Assert.Equal(["2"], (await t.Region.GetAsync<BugList>("kernel")).Value.Bugs);
    }

    [Fact]
    public async Task EntryStampedWithinClockSkew_IsFresh()
    {
        var backend = new BytesMemoryBackend(TimeProvider.System);
        await using var t = new TestRegion(backend: backend);
        await t.Region.SetAsync("kernel", new BugList("kernel", ["1"]));
        backend.Corrupt("kernel", Envelope("{\"Package\":\"kernel\",\"Bugs\":[\"near\"]}", t.Time.GetUtcNow().AddMilliseconds(500).UtcTicks));

        Assert.Equal(["near"], (await t.Region.GetAsync<BugList>("kernel")).Value.Bugs);
    }

    internal static byte[] Envelope(string json, long createdUtcTicks, TimeSpan? expiration = null)
        => new CacheEntry(Encoding.UTF8.GetBytes(json), createdUtcTicks, expiration ?? TimeSpan.FromMinutes(1), TimeSpan.Zero).ToBytes();
}
