using System.CommandLine;
using System.Globalization;
using Dogpile.Memcached;
using Spectre.Console;
using static Dogpile.Cli.DogpileCli;

namespace Dogpile.Cli;

/// <summary><c>dogpile memcached ...</c>: one key, removing a key, and the servers' stats.</summary>
internal static class MemcachedCommands
{
    public static Command Build(CliConsole console, SharedOptions shared)
    {
        var servers = new Option<string>("--servers", "-s") { Description = "The servers, comma-separated, in the applications' order (the ring depends on it). Env: DOGPILE_MEMCACHED. Default: localhost:11211.", Recursive = true, DefaultValueFactory = _ => console.Environment("DOGPILE_MEMCACHED") ?? "localhost:11211" };
        var backendPrefix = new Option<string?>("--backend-prefix") { Description = "MemcachedCacheBackendOptions.KeyPrefix of the applications. Env: DOGPILE_MEMCACHED_PREFIX. Default: none.", Recursive = true, DefaultValueFactory = _ => console.Environment("DOGPILE_MEMCACHED_PREFIX") };
        var timeout = new Option<double>("--timeout") { Description = "Seconds any one memcached call may take. Default: 5.", Recursive = true, DefaultValueFactory = _ => 5.0 };
        var memcached = new Command("memcached", "Dogpile on memcached: keys and server stats.") { servers, backendPrefix, timeout };

        Task<int> RunAsync(ParseResult parsed, Func<DogpileMemcachedAdmin, Task<int>> body)
        {
            string list = parsed.GetValue(servers)!;
            return GuardAsync(console, $"'{list}'", async () =>
            {
                var clientOptions = new MemcachedClientOptions
                {
                    ConnectTimeout = TimeSpan.FromSeconds(Math.Max(0.1, parsed.GetValue(timeout))),
                    RequestTimeout = TimeSpan.FromSeconds(Math.Max(0.1, parsed.GetValue(timeout))),
                };
                foreach (string server in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    clientOptions.Servers.Add(server);
                }

                using var admin = new DogpileMemcachedAdmin(clientOptions, new MemcachedCacheBackendOptions { KeyPrefix = parsed.GetValue(backendPrefix) });
                return await body(admin);
            });
        }

        var region = new Argument<string>("region") { Description = "The region's name." };
        var key = new Argument<string>("key") { Description = "The key, as callers pass it." };
        var keyPrefix = new Option<string?>("--key-prefix") { Description = "The region's key prefix (CacheRegionOptions.KeyPrefix). Default: '<region>:'." };
        string BackendKey(ParseResult parsed, DogpileMemcachedAdmin admin)
            => admin.BackendKeyFor(parsed.GetValue(keyPrefix) ?? parsed.GetValue(region) + ":", parsed.GetValue(key)!);

        var show = new Command("key", "One key: its entry's created, fresh-until and stale-until times, size, state and tags, and whether its lock is held.") { region, key, keyPrefix };
        show.SetAction((parsed, ct) => RunAsync(parsed, async admin =>
        {
            MemcachedKeyInfo info = await admin.InspectKeyAsync(BackendKey(parsed, admin), ct);
            if (!info.Exists && !info.LockHeld)
            {
                await console.Error.WriteLineAsync($"No such key: '{info.ServerKey}' has no value and no lock on {info.Server} (memcached cannot list a region's keys, so an unknown region reads the same).");
                return ExitCodes.NotFound;
            }

            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, info);
                return ExitCodes.Ok;
            }

            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            Spectre.Console.Table table = NewTable("key", info.BackendKey);
            table.AddRow(Cells("server key", $"{info.ServerKey} on {info.Server}"));
            table.AddRow(Cells("state", info.State));
            table.AddRow(Cells("size", info.Exists ? $"{info.SizeBytes} bytes" : "-"));
            table.AddRow(Cells("created", Time(info.Created, now)));
            table.AddRow(Cells("creation took", Duration(info.CreationDuration)));
            table.AddRow(Cells("fresh until", info.Exists && info.FreshUntil is null && info.Created is not null ? "never expires" : Time(info.FreshUntil, now)));
            table.AddRow(Cells("stale until", Time(info.StaleUntil, now)));
            table.AddRow(Cells("lock", info.LockHeld ? $"held ({info.LockKey}), {Duration(info.LockRemainingLease)} left" : "free"));
            table.AddRow(Cells("tags", info.Tags.Count > 0 ? string.Join(", ", info.Tags) : "none"));
            table.AddRow(Cells("payload", info.PayloadPreview));
            console.Ansi.Write(table);
            return ExitCodes.Ok;
        }));

        var region2 = new Argument<string>("region") { Description = "The region's name." };
        var key2 = new Argument<string>("key") { Description = "The key, as callers pass it." };
        var keyPrefix2 = new Option<string?>("--key-prefix") { Description = "The region's key prefix (CacheRegionOptions.KeyPrefix). Default: '<region>:'." };
        var remove = new Command("remove", "Delete one key's value: every process misses it and the next caller creates it again.") { region2, key2, keyPrefix2 };
        remove.SetAction((parsed, ct) => RunAsync(parsed, async admin =>
        {
            string backendKey = admin.BackendKeyFor(parsed.GetValue(keyPrefix2) ?? parsed.GetValue(region2) + ":", parsed.GetValue(key2)!);
            MemcachedKeyInfo info = await admin.InspectKeyAsync(backendKey, ct);
            if (!info.Exists)
            {
                await console.Error.WriteLineAsync($"No such key: '{info.ServerKey}' has no value on {info.Server}.");
                return ExitCodes.NotFound;
            }

            if (!await ConfirmAsync(parsed, shared, console, $"remove key '{info.ServerKey}' from memcached {info.Server}?"))
            {
                return ExitCodes.NotConfirmed;
            }

            bool removed = await admin.RemoveAsync(backendKey, ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, new { backendKey, serverKey = info.ServerKey, server = info.Server, removed });
            }
            else
            {
                await console.Out.WriteLineAsync(removed ? $"Removed '{info.ServerKey}' from {info.Server}." : $"'{info.ServerKey}' was already gone.");
            }

            return removed ? ExitCodes.Ok : ExitCodes.NotFound;
        }));

        var stats = new Command("stats", "Each server's stats: items, memory, hit ratio, evictions, connections.");
        stats.SetAction((parsed, ct) => RunAsync(parsed, async admin =>
        {
            IReadOnlyList<MemcachedServerStats> all = await admin.GetStatsAsync(ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, all);
                return ExitCodes.Ok;
            }

            Spectre.Console.Table table = NewTable("server", "items", "bytes / limit", "hit ratio", "evictions", "connections", "uptime");
            foreach (MemcachedServerStats server in all)
            {
                long hits = server.Number("get_hits") ?? 0;
                long misses = server.Number("get_misses") ?? 0;
                string ratio = hits + misses == 0 ? "-" : ((double)hits / (hits + misses)).ToString("P1", CultureInfo.InvariantCulture);
                table.AddRow(Cells(
                    server.Server,
                    Num(server.Number("curr_items")),
                    $"{Num(server.Number("bytes"))} / {Num(server.Number("limit_maxbytes"))}",
                    ratio,
                    Num(server.Number("evictions")),
                    Num(server.Number("curr_connections")),
                    Duration(server.Number("uptime") is { } up ? TimeSpan.FromSeconds(up) : null)));
            }

            console.Ansi.Write(table);
            return ExitCodes.Ok;
        }));

        memcached.Subcommands.Add(show);
        memcached.Subcommands.Add(remove);
        memcached.Subcommands.Add(stats);
        return memcached;
    }

    private static string Num(long? value) => value?.ToString("N0", CultureInfo.InvariantCulture) ?? "-";
}
