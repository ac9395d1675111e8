using System.Text;
using System.Text.Json;
using Dogpile.Tests.Infrastructure;

namespace Dogpile.Tests.Functions;

/// <summary>A refresh job is read and checked (function, arguments, key) before it runs, and a held lock is released however it fails.</summary>
public sealed class RegisteredRefreshTests
{
    [Fact]
    public async Task TryPrepare_GoodJob_GivesKeyAndBackendKey_RunRefreshes()
    {
        await using var t = new TestRegion(o => o.KeyPrefix = "p:");
        var bugs = t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>("new-" + pkg));

        Assert.True(t.Region.TryPrepareRegisteredRefresh("bugs", Json("kernel"), out RegisteredRefresh? refresh, out string? problem), problem);
        Assert.Equal("bugs", refresh.FunctionName);
        Assert.Equal("bugs:kernel", refresh.Key);
        Assert.Equal("p:bugs:kernel", refresh.BackendKey);

        var heldLock = new FakeLock("p:bugs:kernel");
        Assert.Equal(RefreshOutcome.Refreshed, await refresh.RunAsync(heldLock));
        Assert.Equal(1, heldLock.Releases);
        Assert.Equal("new-kernel", (await bugs.GetAsync("kernel")).Value);
    }

    [Fact]
    public async Task TryPrepare_UnknownFunction_ProblemNamesIt()
    {
        await using var t = new TestRegion();

        Assert.False(t.Region.TryPrepareRegisteredRefresh("nope", Json("x"), out _, out string? problem));
        Assert.StartsWith("unknown function 'nope'", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("")]
    [InlineData("[1,2]")]
    public async Task TryPrepare_UnreadableArguments_Problem(string arguments)
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>(pkg));

        Assert.False(t.Region.TryPrepareRegisteredRefresh("bugs", Encoding.UTF8.GetBytes(arguments), out _, out string? problem));
        Assert.StartsWith("unreadable arguments", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryPrepare_KeyOverBackendLimit_InvalidKeyProblem()
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>(pkg));

        Assert.False(t.Region.TryPrepareRegisteredRefresh("bugs", Json(new string('x', 70_000)), out _, out string? problem));
        Assert.StartsWith("invalid key", problem, StringComparison.Ordinal);
        Assert.Contains("over the backend's limit", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryPrepare_KeyBuilderThrows_InvalidKeyProblem()
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>(pkg), keyBuilder: _ => throw new InvalidOperationException("no key today"));

        Assert.False(t.Region.TryPrepareRegisteredRefresh("bugs", Json("x"), out _, out string? problem));
        Assert.Contains("no key today", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunRegisteredRefresh_KeyOverBackendLimit_ReleasesHeldLockThenThrows()
    {
        await using var t = new TestRegion();
        int calls = 0;
        t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>($"{pkg}-{++calls}"));
        string longArg = new('x', 70_000);
        var heldLock = new FakeLock("bugs:" + longArg);

        await Assert.ThrowsAsync<ArgumentException>(async () => await t.Region.RunRegisteredRefreshAsync("bugs", Json(longArg), heldLock));

        Assert.Equal(1, heldLock.Releases);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task RunRegisteredRefresh_LockOfAnotherKey_ReleasesItAndThrowsWithoutRunning()
    {
        await using var t = new TestRegion();
        int calls = 0;
        var bugs = t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>($"{pkg}-{++calls}"));
        var otherKeysLock = new FakeLock("bugs:other");

        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(async () => await t.Region.RunRegisteredRefreshAsync("bugs", Json("kernel"), otherKeysLock));

        Assert.Contains("bugs:other", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, otherKeysLock.Releases);
        Assert.Equal(0, calls);
        Assert.False((await bugs.GetAsync("kernel")).HasValue);
    }

    [Fact]
    public async Task RunRegisteredRefresh_UnknownFunctionOrUnreadableArguments_ReleasesHeldLock()
    {
        await using var t = new TestRegion();
        t.Region.CreateFunction<string, string>("bugs", (pkg, _) => new ValueTask<string>(pkg));
        var first = new FakeLock("bugs:x");
        var second = new FakeLock("bugs:x");

        await Assert.ThrowsAsync<CacheFunctionNotFoundException>(async () => await t.Region.RunRegisteredRefreshAsync("nope", Json("x"), first));
        await Assert.ThrowsAsync<CacheSerializationException>(async () => await t.Region.RunRegisteredRefreshAsync("bugs", Encoding.UTF8.GetBytes("{"), second));

        Assert.Equal(1, first.Releases);
        Assert.Equal(1, second.Releases);
    }

    private static byte[] Json(string value) => JsonSerializer.SerializeToUtf8Bytes(value);
}
