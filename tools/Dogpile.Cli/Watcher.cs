using System.Diagnostics;
using Dogpile.Redis;
using Spectre.Console;
using static Dogpile.Cli.DogpileCli;

namespace Dogpile.Cli;

/// <summary>
/// <c>dogpile redis watch</c>: samples the queue, dead letters, locks and the round trip every interval. On a terminal
/// it redraws one table in place; otherwise (or with --json) it writes one line (one JSON object) per sample. A failed
/// sample shows Redis as unreachable and the watch goes on.
/// </summary>
internal sealed class Watcher(DogpileRedisAdmin admin, CliConsole console, string target, bool json, TimeSpan interval, int samples)
{
    private const int LockCountCap = 10_000;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!json && console.Ansi.Profile.Capabilities.Interactive)
            {
                await console.Ansi.Live(Render(null)).StartAsync(async live => await LoopAsync(sample =>
                {
                    live.UpdateTarget(Render(sample));
                    return Task.CompletedTask;
                }, cancellationToken));
            }
            else
            {
                await LoopAsync(WriteLineAsync, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C is how a watch ends.
        }

        return ExitCodes.Ok;
    }

    private async Task LoopAsync(Func<WatchSample, Task> show, CancellationToken cancellationToken)
    {
        WatchSample? previous = null;
        long previousAt = 0;
        for (int taken = 0; samples <= 0 || taken < samples; taken++)
        {
            if (taken > 0)
            {
                await Task.Delay(interval, cancellationToken);
            }

            long at = Stopwatch.GetTimestamp();
            WatchSample sample = await SampleAsync(previous, previous is null ? TimeSpan.Zero : Stopwatch.GetElapsedTime(previousAt, at), cancellationToken);
            await show(sample);
            if (sample.Health == "ok")
            {
                previous = sample;
                previousAt = at;
            }
        }
    }

    private async Task<WatchSample> SampleAsync(WatchSample? previous, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        try
        {
            TimeSpan ping = await admin.PingAsync(cancellationToken);
            RedisQueueStatus status = await admin.GetQueueStatusAsync(cancellationToken);
            int locks = (await admin.ListLocksAsync(LockCountCap, cancellationToken)).Count;
            double? Rate(long current, long? before) => before is { } b && elapsed > TimeSpan.Zero ? Math.Max(0, current - b) / elapsed.TotalSeconds : null;
            return new WatchSample(
                now,
                "ok",
                null,
                Math.Round(ping.TotalMilliseconds, 2),
                status.Length,
                status.Backlog,
                status.Pending,
                status.Retrying,
                status.DeadLetters,
                status.OldestJobAge?.TotalSeconds,
                locks,
                status.Consumers.Count,
                Rate(status.EntriesAdded, previous?.EntriesAdded),
                Rate(status.EntriesRead, previous?.EntriesRead))
            {
                EntriesAdded = status.EntriesAdded,
                EntriesRead = status.EntriesRead,
            };
        }
        catch (DogpileRedisUnavailableException ex)
        {
            return new WatchSample(now, "unreachable", ex.Message, null, null, null, null, null, null, null, null, null, null, null);
        }
    }

    private async Task WriteLineAsync(WatchSample sample)
    {
        if (json)
        {
            await WriteJsonAsync(console, sample, indented: false);
            return;
        }

        await console.Out.WriteLineAsync(sample.Health == "ok"
            ? $"{sample.At.UtcDateTime:HH:mm:ss}Z ok ping {sample.PingMs}ms | jobs {sample.Jobs} backlog {sample.Backlog} pending {sample.Pending} retrying {sample.Retrying} oldest {Duration(sample.OldestJobAgeSeconds is { } s ? TimeSpan.FromSeconds(s) : null)} | added/s {Rate(sample.AddedPerSecond)} delivered/s {Rate(sample.DeliveredPerSecond)} | dead {sample.DeadLetters} | locks {sample.Locks} | consumers {sample.Consumers}"
            : $"{sample.At.UtcDateTime:HH:mm:ss}Z UNREACHABLE {sample.Error}");
    }

    private Table Render(WatchSample? sample)
    {
        Table table = NewTable($"dogpile watch {target}", "now");
        if (sample is null)
        {
            table.AddRow(Cells("status", "sampling..."));
            return table;
        }

        if (sample.Health != "ok")
        {
            table.AddRow(new Text("health"), new Text($"UNREACHABLE: {sample.Error}", new Style(Color.Red)));
            return table;
        }

        table.AddRow(Cells("health", $"ok (ping {sample.PingMs}ms)"));
        table.AddRow(Cells("queue depth", $"{sample.Jobs} jobs: {sample.Backlog} waiting, {sample.Pending} running or awaiting retry ({sample.Retrying} retrying)"));
        table.AddRow(Cells("oldest job", Duration(sample.OldestJobAgeSeconds is { } s ? TimeSpan.FromSeconds(s) : null)));
        table.AddRow(Cells("job rate", $"{Rate(sample.AddedPerSecond)} added/s, {Rate(sample.DeliveredPerSecond)} delivered/s"));
        table.AddRow(new Text("dead letters"), new Text(sample.DeadLetters?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-", sample.DeadLetters > 0 ? new Style(Color.Red) : Style.Plain));
        table.AddRow(Cells("locks held", sample.Locks >= LockCountCap ? $"{LockCountCap}+" : sample.Locks?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        table.AddRow(Cells("consumers", sample.Consumers?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        table.AddRow(Cells("sampled", $"{sample.At.UtcDateTime:HH:mm:ss}Z, every {Duration(interval)}; Ctrl+C to stop"));
        return table;
    }

    private static string Rate(double? perSecond) => perSecond is { } r ? r.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : "-";
}

/// <summary>One sample of the watch (one JSON line with --json).</summary>
internal sealed record WatchSample(
    DateTimeOffset At,
    string Health,
    string? Error,
    double? PingMs,
    long? Jobs,
    long? Backlog,
    long? Pending,
    long? Retrying,
    long? DeadLetters,
    double? OldestJobAgeSeconds,
    int? Locks,
    int? Consumers,
    double? AddedPerSecond,
    double? DeliveredPerSecond)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public long? EntriesAdded { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public long? EntriesRead { get; init; }
}
