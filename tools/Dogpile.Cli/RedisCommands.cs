using System.CommandLine;
using System.Globalization;
using Dogpile.Redis;
using Spectre.Console;
using StackExchange.Redis;
using static Dogpile.Cli.DogpileCli;

namespace Dogpile.Cli;

/// <summary><c>dogpile redis ...</c>: the queue, dead letters, locks, keys, invalidation and the live view.</summary>
internal static class RedisCommands
{
    public static Command Build(CliConsole console, SharedOptions shared)
    {
        var o = new RedisOptions(console);
        var redis = new Command("redis", "Dogpile on Redis: the refresh queue, dead letters, locks, keys and region invalidation.");
        foreach (Option option in o.All)
        {
            redis.Options.Add(option);
        }

        redis.Subcommands.Add(Queue(console, shared, o));
        redis.Subcommands.Add(Dead(console, shared, o));
        redis.Subcommands.Add(Locks(console, shared, o));
        redis.Subcommands.Add(Key(console, shared, o));
        redis.Subcommands.Add(Invalidate(console, shared, o));
        redis.Subcommands.Add(Remove(console, shared, o));
        redis.Subcommands.Add(Watch(console, shared, o));
        return redis;
    }

    private static Command Queue(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var command = new Command("queue", "The refresh queue: length, backlog, pending per consumer, the oldest job's age, retries, dead letters, consumers and their idle time.");
        command.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            RedisQueueStatus status = await admin.GetQueueStatusAsync(ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, status);
                return ExitCodes.Ok;
            }

            Spectre.Console.Table summary = NewTable("queue", "value");
            summary.AddRow(Cells("stream", o.Describe(parsed)));
            summary.AddRow(Cells("jobs (not completed)", N(status.Length)));
            summary.AddRow(Cells("backlog (not yet read)", N(status.Backlog)));
            summary.AddRow(Cells("pending (running or awaiting retry)", N(status.Pending)));
            summary.AddRow(Cells("retrying (failed at least once)", N(status.Retrying)));
            summary.AddRow(Cells("oldest job age", Duration(status.OldestJobAge)));
            summary.AddRow(Cells("oldest pending age", Duration(status.OldestPendingAge)));
            summary.AddRow(Cells("dead letters", N(status.DeadLetters)));
            if (!status.GroupExists)
            {
                summary.AddRow(Cells("consumer group", "missing: no worker has started on this queue"));
            }

            console.Ansi.Write(summary);
            if (status.Consumers.Count > 0)
            {
                Spectre.Console.Table consumers = NewTable("consumer", "pending", "idle");
                foreach (RedisConsumerStatus consumer in status.Consumers)
                {
                    consumers.AddRow(Cells(consumer.Name, N(consumer.Pending), Duration(consumer.Idle)));
                }

                console.Ansi.Write(consumers);
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Dead(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var dead = new Command("dead", "The dead-letter stream: jobs the workers gave up on.");

        var count = new Option<int>("--count", "-n") { Description = "The most to list.", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "List dead letters, oldest first: id, when, region, function, key and reason.") { count };
        list.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            IReadOnlyList<RedisDeadLetter> letters = await admin.ListDeadLettersAsync(Math.Max(1, parsed.GetValue(count)), ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, letters);
                return ExitCodes.Ok;
            }

            if (letters.Count == 0)
            {
                await console.Out.WriteLineAsync("No dead letters.");
                return ExitCodes.Ok;
            }

            Spectre.Console.Table table = NewTable("id", "dead-lettered", "region", "function", "key", "reason");
            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            foreach (RedisDeadLetter letter in letters)
            {
                table.AddRow(Cells(letter.Id, Time(letter.DeadLetteredAt, now), letter.Region, letter.Function, letter.Key, letter.Reason));
            }

            console.Ansi.Write(table);
            return ExitCodes.Ok;
        }, ct));

        var showId = new Argument<string>("id") { Description = "The dead letter's id (from dead list)." };
        var show = new Command("show", "Show one dead letter with every field.") { showId };
        show.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            string id = parsed.GetValue(showId)!;
            RedisDeadLetter? letter = await admin.GetDeadLetterAsync(id, ct);
            if (letter is null)
            {
                await console.Error.WriteLineAsync($"No dead letter with id '{id}' (dead list shows the ids).");
                return ExitCodes.NotFound;
            }

            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, letter);
                return ExitCodes.Ok;
            }

            Spectre.Console.Table table = NewTable("field", "value");
            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            table.AddRow(Cells("id", letter.Id));
            table.AddRow(Cells("reason", letter.Reason));
            table.AddRow(Cells("dead-lettered", Time(letter.DeadLetteredAt, now)));
            table.AddRow(Cells("enqueued", Time(letter.EnqueuedAt, now)));
            foreach ((string name, string value) in letter.Fields.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                table.AddRow(Cells(name, value.Length > 300 ? value[..297] + "..." : value));
            }

            console.Ansi.Write(table);
            return ExitCodes.Ok;
        }, ct));

        dead.Subcommands.Add(list);
        dead.Subcommands.Add(show);
        dead.Subcommands.Add(Change(console, shared, o, "replay", "Put dead letters back on the queue as new jobs (attempts start again) and delete them from the dead-letter stream.", replay: true));
        dead.Subcommands.Add(Change(console, shared, o, "purge", "Delete dead letters.", replay: false));
        return dead;
    }

    /// <summary>replay and purge: ids or --all, confirmed, and a report of exactly what was done.</summary>
    private static Command Change(CliConsole console, SharedOptions shared, RedisOptions o, string name, string description, bool replay)
    {
        var ids = new Argument<string[]>("ids") { Description = "Dead-letter ids (from dead list).", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Every dead letter there is now." };
        var command = new Command(name, description) { ids, all };
        command.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            string[] given = parsed.GetValue(ids) ?? [];
            bool everything = parsed.GetValue(all);
            if (given.Length == 0 == !everything)
            {
                await console.Error.WriteLineAsync($"Give dead-letter ids or --all (not both) to {name}.");
                return ExitCodes.Usage;
            }

            var missing = new List<string>();
            if (everything)
            {
                given = [.. (await admin.ListDeadLettersAsync(int.MaxValue, ct)).Select(d => d.Id)];
            }
            else
            {
                // Unknown ids are reported, not asked about; malformed ones stop the command before anything changes.
                var found = new List<string>();
                foreach (string id in given.Distinct(StringComparer.Ordinal))
                {
                    (await admin.GetDeadLetterAsync(id, ct) is null ? missing : found).Add(id);
                }

                given = [.. found];
            }

            if (given.Length == 0)
            {
                return await ReportAsync(console, replay, parsed.GetValue(shared.Json), [], missing);
            }

            string what = everything ? $"all {given.Length} dead letters" : given.Length == 1 ? $"dead letter {given[0]}" : $"{given.Length} dead letters";
            if (!await ConfirmAsync(parsed, shared, console, $"{name} {what} on {o.Describe(parsed)}?"))
            {
                return ExitCodes.NotConfirmed;
            }

            if (replay)
            {
                RedisReplayResult result = await admin.ReplayAsync(given, ct);
                return await ReportAsync(console, replay, parsed.GetValue(shared.Json), [.. result.Replayed.Select(r => (r.DeadLetterId, $"replayed as job {r.JobId} (entry {r.EntryId}): {r.Region} {r.Function} {r.Key}", (object)r))], [.. missing, .. result.NotFound]);
            }

            // --all purges exactly the ids listed above, so a job dead-lettered meanwhile is kept (and not reported).
            RedisPurgeResult purged = await admin.PurgeAsync(given, ct);
            return await ReportAsync(console, replay, parsed.GetValue(shared.Json), [.. purged.Purged.Select(id => (id, "purged", (object)id))], [.. missing, .. purged.NotFound]);
        }, ct));
        return command;

        static async Task<int> ReportAsync(CliConsole console, bool replay, bool json, List<(string Id, string Line, object Json)> done, IReadOnlyList<string> notFound)
        {
            if (json)
            {
                await WriteJsonAsync(console, replay
                    ? new { replayed = done.Select(d => d.Json), notFound }
                    : new { purged = done.Select(d => d.Json), notFound });
            }
            else
            {
                foreach ((string id, string line, _) in done)
                {
                    await console.Out.WriteLineAsync($"{id}: {line}");
                }

                foreach (string id in notFound)
                {
                    await console.Error.WriteLineAsync($"{id}: no such dead letter (nothing done)");
                }

                await console.Out.WriteLineAsync($"{(replay ? "Replayed" : "Purged")} {done.Count}; not found {notFound.Count}.");
            }

            return notFound.Count > 0 ? ExitCodes.NotFound : ExitCodes.Ok;
        }
    }

    private static Command Locks(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var max = new Option<int>("--max") { Description = "The most to list.", DefaultValueFactory = _ => 1000 };
        var command = new Command("locks", "Held creation locks: backend key, owner token, remaining lease and fence (a SCAN of the lock keys).") { max };
        command.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            IReadOnlyList<RedisLockInfo> locks = await admin.ListLocksAsync(Math.Max(1, parsed.GetValue(max)), ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, locks);
                return ExitCodes.Ok;
            }

            if (locks.Count == 0)
            {
                await console.Out.WriteLineAsync("No locks held.");
                return ExitCodes.Ok;
            }

            Spectre.Console.Table table = NewTable("key", "owner", "lease left", "fence");
            foreach (RedisLockInfo held in locks)
            {
                table.AddRow(Cells(held.BackendKey, held.Owner, Duration(held.RemainingLease), held.Fence?.ToString(CultureInfo.InvariantCulture)));
            }

            console.Ansi.Write(table);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Key(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var (region, key, keyPrefix) = RegionArguments();
        var command = new Command("key", "One key: its entry's created, fresh-until and stale-until times, size, state and tags, its lock holder and its pending refresh job.") { region, key, keyPrefix };
        command.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            string regionName = parsed.GetValue(region)!;
            string prefix = parsed.GetValue(keyPrefix) ?? regionName + ":";
            RedisKeyInfo info = await admin.InspectKeyAsync(regionName, prefix + parsed.GetValue(key), ct);
            if (!info.Exists && info.Lock is null && info.PendingJob is null)
            {
                return await NotFoundAsync(console, admin, regionName, prefix, info.BackendKey, ct);
            }

            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, info);
                return ExitCodes.Ok;
            }

            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            Spectre.Console.Table table = NewTable("key", info.BackendKey);
            table.AddRow(Cells("redis key", info.RedisKey));
            table.AddRow(Cells("state", info.State));
            table.AddRow(Cells("size", info.Exists ? $"{info.SizeBytes} bytes" : "-"));
            table.AddRow(Cells("created", Time(info.Created, now)));
            table.AddRow(Cells("creation took", Duration(info.CreationDuration)));
            table.AddRow(Cells("fresh until", info.Exists && info.FreshUntil is null && info.Created is not null ? "never expires" : Time(info.FreshUntil, now)));
            table.AddRow(Cells("stale until", Time(info.StaleUntil, now)));
            table.AddRow(Cells("lock", info.Lock is { } l ? $"held by {l.Owner}, {Duration(l.RemainingLease)} left, fence {l.Fence}" : "free"));
            table.AddRow(Cells("pending job", info.PendingJob is { } j
                ? $"{j.JobId} (entry {j.EntryId ?? "not found"}, {(j.Consumer is null ? "not delivered yet" : $"with {j.Consumer}, delivered {j.Deliveries}x")})"
                : "none"));
            table.AddRow(Cells("region invalidated", $"hard {Time(info.HardInvalidatedAt, now)}, soft {Time(info.SoftInvalidatedAt, now)}"));
            table.AddRow(Cells("tags", info.Tags.Count > 0 ? string.Join(", ", info.Tags) : "none"));
            table.AddRow(Cells("payload", info.PayloadPreview));
            console.Ansi.Write(table);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Remove(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var (region, key, keyPrefix) = RegionArguments();
        var command = new Command("remove", "Delete one key's value: every process misses it and the next caller creates it again.") { region, key, keyPrefix };
        command.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            string regionName = parsed.GetValue(region)!;
            string prefix = parsed.GetValue(keyPrefix) ?? regionName + ":";
            string backendKey = prefix + parsed.GetValue(key);
            RedisKeyInfo info = await admin.InspectKeyAsync(regionName, backendKey, ct);
            if (!info.Exists)
            {
                return await NotFoundAsync(console, admin, regionName, prefix, backendKey, ct);
            }

            if (!await ConfirmAsync(parsed, shared, console, $"remove key '{backendKey}' from {o.Describe(parsed)}?"))
            {
                return ExitCodes.NotConfirmed;
            }

            bool removed = await admin.RemoveAsync(backendKey, ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, new { region = regionName, backendKey, removed });
            }
            else
            {
                await console.Out.WriteLineAsync(removed ? $"Removed '{backendKey}'." : $"'{backendKey}' was already gone.");
            }

            return removed ? ExitCodes.Ok : ExitCodes.NotFound;
        }, ct));
        return command;
    }

    private static Command Invalidate(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var region = new Argument<string>("region") { Description = "The region's name." };
        var soft = new Option<bool>("--soft") { Description = "Older values count as stale (served while one refresh runs) instead of missing." };
        var force = new Option<bool>("--force") { Description = "Invalidate even when Redis has no trace of the region (no values under its key prefix, never invalidated)." };
        var tag = new Option<string?>("--tag") { Description = "Invalidate only the values carrying this tag (CacheEntryOptions.Tags), not the whole region." };
        var keyPrefix = KeyPrefixOption();
        var command = new Command("invalidate", "Invalidate a region, or the values in it carrying a tag, in every process that shares invalidations through this Redis.") { region, soft, force, tag, keyPrefix };
        command.SetAction((parsed, ct) => o.RunAsync(parsed, async admin =>
        {
            string regionName = parsed.GetValue(region)!;
            string prefix = parsed.GetValue(keyPrefix) ?? regionName + ":";
            if (!parsed.GetValue(force) && !await admin.RegionIsKnownAsync(regionName, prefix, ct))
            {
                await console.Error.WriteLineAsync($"Unknown region '{regionName}': Redis at {o.Describe(parsed)} has no values under key prefix '{prefix}' and no invalidation record for it. Check the name (and --key-prefix), or pass --force.");
                return ExitCodes.UnknownRegion;
            }

            InvalidationMode mode = parsed.GetValue(soft) ? InvalidationMode.Soft : InvalidationMode.Hard;
            string? tagName = parsed.GetValue(tag);
            if (tagName is not null && !IsValidTag(tagName))
            {
                await console.Error.WriteLineAsync($"Invalid tag '{tagName}': a tag is 1 to {CacheEntryOptions.MaxTagLength} characters, not blank, without control characters, and not \"*\".");
                return ExitCodes.Usage;
            }

            string target = tagName is null ? $"region '{regionName}'" : $"tag '{tagName}' in region '{regionName}'";
            if (!await ConfirmAsync(parsed, shared, console, $"{mode.ToString().ToLowerInvariant()}-invalidate {target} on {o.Describe(parsed)}?"))
            {
                return ExitCodes.NotConfirmed;
            }

            if (tagName is not null)
            {
                RedisInvalidationResult tagged = await admin.InvalidateTagAsync(regionName, tagName, mode, ct);
                if (parsed.GetValue(shared.Json))
                {
                    await WriteJsonAsync(console, new { tagged.Region, Tag = tagName, tagged.Mode, tagged.Mark });
                }
                else
                {
                    await console.Out.WriteLineAsync($"Tag '{tagName}' in region '{regionName}' {mode.ToString().ToLowerInvariant()}-invalidated: values carrying it created before {tagged.Mark.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z count as {(mode == InvalidationMode.Hard ? "missing" : "stale")} in every subscribed process.");
                }

                return ExitCodes.Ok;
            }

            RedisInvalidationResult result = await admin.InvalidateRegionAsync(regionName, mode, ct);
            if (parsed.GetValue(shared.Json))
            {
                await WriteJsonAsync(console, result);
            }
            else
            {
                await console.Out.WriteLineAsync($"Region '{regionName}' {mode.ToString().ToLowerInvariant()}-invalidated: values created before {result.Mark.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z count as {(mode == InvalidationMode.Hard ? "missing" : "stale")} in every subscribed process.");
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static bool IsValidTag(string tag)
    {
        try
        {
            // The entry options hold the one definition of a valid tag.
            _ = new CacheEntryOptions { Tags = [tag] };
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static Command Watch(CliConsole console, SharedOptions shared, RedisOptions o)
    {
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes.", DefaultValueFactory = _ => 1.0 };
        var samples = new Option<int>("--samples") { Description = "Stop after this many refreshes (0: until Ctrl+C)." };
        var command = new Command("watch", "A live view, refreshed every second: queue depth, job rates, dead letters, lock count and health.") { interval, samples };
        command.SetAction((parsed, ct) => o.RunAsync(parsed, admin => new Watcher(admin, console, o.Describe(parsed), parsed.GetValue(shared.Json), TimeSpan.FromSeconds(Math.Max(0.1, parsed.GetValue(interval))), parsed.GetValue(samples)).RunAsync(ct), ct));
        return command;
    }

    private static async Task<int> NotFoundAsync(CliConsole console, DogpileRedisAdmin admin, string region, string prefix, string backendKey, CancellationToken ct)
    {
        if (!await admin.RegionIsKnownAsync(region, prefix, ct))
        {
            await console.Error.WriteLineAsync($"Unknown region '{region}': no values under key prefix '{prefix}' and no invalidation record. Check the name (and --key-prefix).");
            return ExitCodes.UnknownRegion;
        }

        await console.Error.WriteLineAsync($"No such key: '{backendKey}' has no value, lock or pending job.");
        return ExitCodes.NotFound;
    }

    private static (Argument<string> Region, Argument<string> Key, Option<string?> KeyPrefix) RegionArguments()
        => (new Argument<string>("region") { Description = "The region's name." }, new Argument<string>("key") { Description = "The key, as callers pass it." }, KeyPrefixOption());

    private static Option<string?> KeyPrefixOption()
        => new("--key-prefix") { Description = "The region's key prefix (CacheRegionOptions.KeyPrefix). Default: '<region>:', what DogpileRedis.ApplyTo sets." };

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>The Redis connection options, read from the command line or the environment.</summary>
    private sealed class RedisOptions
    {
        private readonly CliConsole _console;

        public RedisOptions(CliConsole console)
        {
            _console = console;
            Connection = new Option<string>("--redis", "-r") { Description = "The StackExchange.Redis connection string. Env: DOGPILE_REDIS. Default: localhost:6379.", Recursive = true, DefaultValueFactory = _ => console.Environment("DOGPILE_REDIS") ?? "localhost:6379" };
            Prefix = new Option<string>("--prefix") { Description = "DogpileRedisOptions.KeyPrefix of the applications. Env: DOGPILE_PREFIX. Default: dogpile.", Recursive = true, DefaultValueFactory = _ => console.Environment("DOGPILE_PREFIX") ?? "dogpile" };
            Queue = new Option<string>("--queue") { Description = "DogpileRedisOptions.QueueName. Env: DOGPILE_QUEUE. Default: refresh.", Recursive = true, DefaultValueFactory = _ => console.Environment("DOGPILE_QUEUE") ?? "refresh" };
            Group = new Option<string>("--group") { Description = "DogpileRedisOptions.ConsumerGroup. Env: DOGPILE_GROUP. Default: dogpile-workers.", Recursive = true, DefaultValueFactory = _ => console.Environment("DOGPILE_GROUP") ?? "dogpile-workers" };
            Timeout = new Option<double>("--timeout") { Description = "Seconds any one Redis call may take. Default: 5.", Recursive = true, DefaultValueFactory = _ => 5.0 };
            All = [Connection, Prefix, Queue, Group, Timeout];
        }

        public Option<string> Connection { get; }

        public Option<string> Prefix { get; }

        public Option<string> Queue { get; }

        public Option<string> Group { get; }

        public Option<double> Timeout { get; }

        public Option[] All { get; }

        /// <summary>The server without its password, and the prefix: what messages name.</summary>
        public string Describe(ParseResult parsed)
        {
            string connection = parsed.GetValue(Connection)!;
            try
            {
                connection = ConfigurationOptions.Parse(connection).ToString(includePassword: false);
            }
            catch (ArgumentException)
            {
                // Shown as given: the command itself reports that it is malformed.
            }

            return $"'{connection}' (prefix '{parsed.GetValue(Prefix)}')";
        }

        public Task<int> RunAsync(ParseResult parsed, Func<DogpileRedisAdmin, Task<int>> body, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return GuardAsync(_console, Describe(parsed), async () =>
            {
                var options = new DogpileRedisOptions
                {
                    ConnectionString = parsed.GetValue(Connection),
                    KeyPrefix = parsed.GetValue(Prefix)!,
                    QueueName = parsed.GetValue(Queue)!,
                    ConsumerGroup = parsed.GetValue(Group)!,
                    OperationTimeout = TimeSpan.FromSeconds(Math.Max(0.1, parsed.GetValue(Timeout))),
                };
                await using var redis = new DogpileRedis(options);
                return await body(new DogpileRedisAdmin(redis));
            });
        }
    }
}
