using System.Globalization;
using Dogpile.Testing;

namespace Dogpile.Tests.Infrastructure;

/// <summary>
/// The launcher every test and benchmark starts its child processes with (tests/Dogpile.Testing.Processes): a child that
/// dies says why, a wait that times out says for what, and nothing it started outlives it. The children are small
/// shell scripts, so these run in well under a second each.
/// </summary>
public sealed class ChildProcessTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WaitForLine_ChildExitsWithAnError_ThrowsWithItsExitCodeAndStandardError()
    {
        using ChildProcess child = Shell("echo starting; echo 'cannot connect to 127.0.0.1:1' >&2; exit 3");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => child.WaitForLineAsync("READY", Generous));

        Assert.Contains("'READY'", error.Message, StringComparison.Ordinal);
        Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot connect to 127.0.0.1:1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForLine_LineNeverComes_ThrowsTimeoutNamingTheLineAndTheStandardError()
    {
        using ChildProcess child = Shell("echo 'still warming up' >&2; echo NOT-READY; exec sleep 60");
        await child.WaitForLineAsync("NOT-READY", Generous);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => child.WaitForLineAsync("READY", TimeSpan.FromMilliseconds(300)));

        Assert.Contains($"(pid {child.Id}) did not print 'READY' within 0.3 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("still warming up", error.Message, StringComparison.Ordinal);
        Assert.False(child.HasExited);
    }

    [Fact]
    public async Task WaitForMatch_SkipsEarlierLines_ReturnsTheMatchingLinesGroups()
    {
        using ChildProcess child = Shell("echo 'booting'; echo 'listening on http://127.0.0.1:5123/'; exec sleep 60");

        var match = await child.WaitForMatchAsync(new(@"^listening on (http://\S+)$"), Generous);

        Assert.Equal("http://127.0.0.1:5123/", match.Groups[1].Value);
    }

    [Fact]
    public async Task Ask_ChildAnswersEachLine_ReturnsTheAnswers()
    {
        using ChildProcess child = Shell("while read -r line; do echo \"got $line\"; done");

        Assert.Equal("got a", await child.AskAsync("a", Generous));
        Assert.Equal("got b c", await child.AskAsync("b c", Generous));
        child.CloseInput();
        Assert.Equal(0, await child.WaitForExitAsync(Generous));
    }

    [Fact]
    public async Task ReadToEnd_ChildSucceeds_ReturnsTheUnreadLines()
    {
        using ChildProcess child = ChildProcess.Start("sh", ["-c", "echo one; echo \"$GREETING\"; echo three", "sh"], new() { Environment = { ["GREETING"] = "two" } });
        await child.WaitForLineAsync("one", Generous);

        Assert.Equal(["two", "three"], await child.ReadToEndAsync(Generous));
    }

    [Fact]
    public async Task ReadToEnd_ChildFails_ThrowsWithItsOutputAndStandardError()
    {
        using ChildProcess child = Shell("echo '{\"partial\":'; echo 'Unhandled exception. System.Exception: boom' >&2; exit 134");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => child.ReadToEndAsync(Generous));

        Assert.Contains("exited with code 134", error.Message, StringComparison.Ordinal);
        Assert.Contains("{\"partial\":", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.Exception: boom", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_ChildWithAChildOfItsOwn_KillsBothAndReapsThem()
    {
        // The shell starts a sleep of its own and waits on it: disposing must take the grandchild down too. The grandchild
        // is reaped by whoever adopts it (init or a subreaper), hence the wait and the zombie counting as gone.
        ChildProcess child = Shell("sleep 300 & echo $!; wait");
        int grandchild = int.Parse((await child.ReadLineAsync(Generous))!, CultureInfo.InvariantCulture);
        int pid = child.Id;
        Assert.True(IsRunning(pid));
        Assert.True(IsRunning(grandchild));

        child.Dispose();

        Assert.False(Directory.Exists($"/proc/{pid}"), "the child is still running, or a zombie: it was not reaped");
        await Eventually.TrueAsync(() => !IsRunning(grandchild), "the child's own child is gone too");
    }

    [Fact]
    public async Task Stop_ChildHandlesSigterm_ExitsOnItsOwnWithinTheGrace()
    {
        using ChildProcess child = Shell("trap 'echo stopping; exit 0' TERM; echo READY; while true; do sleep 0.05; done");
        await child.WaitForLineAsync("READY", Generous);

        Assert.True(await child.StopAsync(Generous));

        Assert.Equal(0, child.ExitCode);
        Assert.Contains("stopping", child.ReadBufferedLines());
    }

    [Fact]
    public async Task Stop_ChildIgnoresSigterm_IsKilledAfterTheGrace()
    {
        using ChildProcess child = Shell("trap '' TERM; echo READY; while true; do sleep 0.05; done");
        await child.WaitForLineAsync("READY", Generous);

        Assert.False(await child.StopAsync(TimeSpan.FromMilliseconds(300)));

        Assert.True(child.HasExited);
    }

    [Fact]
    public async Task Interrupt_ChildTrapsSigint_ExitsWithItsOwnCode()
    {
        using ChildProcess child = ChildProcess.Start("sh", ["-c", "trap 'exit 130' INT; grep -E 'Sig(Blk|Ign)' /proc/$$/status >&2; echo READY; while true; do sleep 0.05; done"], new ChildProcessOptions { DefaultSigint = true });
        await child.WaitForLineAsync("READY", Generous);

        child.Interrupt();

        Assert.Equal(130, await child.WaitForExitAsync(Generous));
    }

    [Fact]
    public void StartDotnet_DllMissing_ThrowsNamingIt()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Not.Built.dll");

        var error = Assert.Throws<FileNotFoundException>(() => ChildProcess.StartDotnet(dll, []));

        Assert.Contains(dll, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerProcess_ServerExitsAtStartup_ThrowsWithItsExitCodeAndStandardError()
    {
        // The server launcher shares this core: a redis-server that refuses its configuration says so in the failure.
        using ServerProcess redis = ServerProcess.Redis(extraArguments: ["--no-such-directive", "1"]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(redis.StartAsync);

        Assert.Contains($"redis-server on port {redis.Port} exited with code 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-directive", error.Message, StringComparison.Ordinal);
        Assert.False(redis.IsRunning);
    }

    [Fact]
    public async Task ServerProcess_Paused_AnswersNothingUntilResumedThenAnswersWhatWasSent()
    {
        using ServerProcess redis = ServerProcess.Redis();
        await redis.StartAsync();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, redis.Port);
        System.Net.Sockets.NetworkStream stream = client.GetStream();
        var buffer = new byte[64];

        redis.Pause();
        await stream.WriteAsync("PING\r\n"u8.ToArray());
        Task<int> reply = stream.ReadAsync(buffer).AsTask();
        await Task.Delay(300);
        Assert.False(reply.IsCompleted);
        Assert.True(redis.IsPaused);

        redis.Resume();

        int read = await reply.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("+PONG\r\n", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        Assert.False(redis.IsPaused);
    }

    private static ChildProcess Shell(string script) => ChildProcess.Start("sh", ["-c", script]);

    /// <summary>Alive and not a zombie (an exited process nobody has reaped yet counts as gone here).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
