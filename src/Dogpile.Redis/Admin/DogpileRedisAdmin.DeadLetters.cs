using System.Globalization;
using StackExchange.Redis;

namespace Dogpile.Redis;

// Dead letters: list, show, replay as new jobs, purge.
public sealed partial class DogpileRedisAdmin
{
    /// <summary>
    /// KEYS: dead-letter stream, job stream, pending marker. ARGV: dead-letter id, new job id, marker ttl ms, max length,
    /// channel, enqueued-at ms, set marker ("1"/"0"). Moves one dead letter back to the job stream as a new job (new id,
    /// so its failure count starts again; no lock token: the worker takes a fresh lock), sets the key's pending marker
    /// unless one is set, deletes the dead letter and wakes the workers, all in one step. Returns the new entry id, or
    /// nil when no such dead letter exists.
    /// </summary>
    private const string ReplayScript = """
        local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
        if #found == 0 then return false end
        local source = found[1][2]
        local skip = {reason = true, entryId = true, consumer = true, deadLetteredAt = true, job = true, token = true, fence = true, enqueuedAt = true}
        local fields = {}
        for i = 1, #source, 2 do
          if not skip[source[i]] then
            fields[#fields + 1] = source[i]
            fields[#fields + 1] = source[i + 1]
          end
        end
        fields[#fields + 1] = 'job'
        fields[#fields + 1] = ARGV[2]
        fields[#fields + 1] = 'token'
        fields[#fields + 1] = ''
        fields[#fields + 1] = 'fence'
        fields[#fields + 1] = '0'
        fields[#fields + 1] = 'enqueuedAt'
        fields[#fields + 1] = ARGV[6]
        if ARGV[7] == '1' then redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) end
        local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
        redis.call('XDEL', KEYS[1], ARGV[1])
        redis.call('PUBLISH', ARGV[5], id)
        return id
        """;

    /// <summary>Lists dead letters, oldest first.</summary>
    /// <param name="count">The most to return.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dead letters.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<IReadOnlyList<RedisDeadLetter>> ListDeadLettersAsync(int count = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.DeadLetterStream, "-", "+", count), "XRANGE", cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(ToDeadLetter)];
    }

    /// <summary>Reads one dead letter.</summary>
    /// <param name="id">Its stream id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dead letter, or <see langword="null"/> when no dead letter has that id.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a stream id (<c>milliseconds-sequence</c>).</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisDeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        RequireStreamId(id);
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.DeadLetterStream, id, id), "XRANGE", cancellationToken).ConfigureAwait(false);
        return entries.Length == 0 ? null : ToDeadLetter(entries[0]);
    }

    /// <summary>
    /// Puts dead letters back on the job stream, each as a new job (a new job id, so its attempts start from zero, and
    /// no lock token: the worker takes a fresh lock), and deletes them from the dead-letter stream; each move is one
    /// atomic script. The workers are woken.
    /// </summary>
    /// <param name="ids">The dead-letter ids.</param>
    /// <param name="cancellationToken">Cancels the calls not yet made.</param>
    /// <returns>Which were replayed (with their new jobs) and which named no dead letter.</returns>
    /// <exception cref="ArgumentException">An id is not a stream id; nothing was done.</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time (those replayed before stay replayed).</exception>
    public async ValueTask<RedisReplayResult> ReplayAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        string[] wanted = RequireStreamIds(ids);
        var replayed = new List<RedisReplayedJob>();
        var notFound = new List<string>();
        foreach (string id in wanted)
        {
            RedisDeadLetter? dead = await GetDeadLetterAsync(id, cancellationToken).ConfigureAwait(false);
            if (dead is null)
            {
                notFound.Add(id);
                continue;
            }

            string jobId = Guid.NewGuid().ToString("N");
            bool hasKey = dead.BackendKey.Length > 0;
            RedisValue[] args =
            [
                id,
                jobId,
                (long)_redis.Options.DeduplicationWindow.TotalMilliseconds,
                _redis.Options.StreamMaxLength,
                _keys.JobAddedChannel,
                _time.GetUtcNow().ToUnixTimeMilliseconds(),
                hasKey ? "1" : "0",
            ];
            RedisResult result = await _connection.RunAsync(
                db => db.ScriptEvaluateAsync(ReplayScript, [_keys.DeadLetterStream, _keys.JobStream, _keys.PendingMarker(dead.BackendKey)], args),
                "dead-letter replay",
                cancellationToken).ConfigureAwait(false);
            if (result.IsNull)
            {
                // Purged or replayed by someone else between the read and the script.
                notFound.Add(id);
                continue;
            }

            replayed.Add(new RedisReplayedJob(id, (string)result!, jobId, dead.Region, dead.Function, dead.Key));
        }

        return new RedisReplayResult(replayed, notFound);
    }

    /// <summary>Deletes dead letters.</summary>
    /// <param name="ids">The dead-letter ids.</param>
    /// <param name="cancellationToken">Cancels the calls not yet made.</param>
    /// <returns>Which were deleted and which named no dead letter.</returns>
    /// <exception cref="ArgumentException">An id is not a stream id; nothing was done.</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time (those deleted before stay deleted).</exception>
    public async ValueTask<RedisPurgeResult> PurgeAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        string[] wanted = RequireStreamIds(ids);
        var purged = new List<string>();
        var notFound = new List<string>();
        foreach (string id in wanted)
        {
            long deleted = await _connection.RunAsync(db => db.StreamDeleteAsync(_keys.DeadLetterStream, [id]), "XDEL", cancellationToken).ConfigureAwait(false);
            (deleted > 0 ? purged : notFound).Add(id);
        }

        return new RedisPurgeResult(purged, notFound);
    }

    /// <summary>
    /// Deletes every dead letter there is now: the ids are listed first and exactly those are deleted, so one that
    /// arrives meanwhile is kept.
    /// </summary>
    /// <param name="cancellationToken">Cancels the calls not yet made.</param>
    /// <returns>The ids deleted.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time (those deleted before stay deleted).</exception>
    public async ValueTask<RedisPurgeResult> PurgeAllAsync(CancellationToken cancellationToken = default)
    {
        StreamEntry[] entries = await _connection.RunAsync(db => db.StreamRangeAsync(_keys.DeadLetterStream, "-", "+"), "XRANGE", cancellationToken).ConfigureAwait(false);
        var purged = new List<string>(entries.Length);
        foreach (StreamEntry[] chunk in entries.Chunk(500))
        {
            RedisValue[] chunkIds = [.. chunk.Select(e => e.Id)];
            _ = await _connection.RunAsync(db => db.StreamDeleteAsync(_keys.DeadLetterStream, chunkIds), "XDEL", cancellationToken).ConfigureAwait(false);
            purged.AddRange(chunk.Select(e => (string)e.Id!));
        }

        return new RedisPurgeResult(purged, []);
    }

    private static RedisDeadLetter ToDeadLetter(StreamEntry entry)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (NameValueEntry field in entry.Values)
        {
            fields[(string)field.Name!] = (string?)field.Value ?? "";
        }

        return new RedisDeadLetter
        {
            Id = (string)entry.Id!,
            Reason = fields.GetValueOrDefault("reason", ""),
            JobId = fields.GetValueOrDefault(JobFields.Job, ""),
            Region = fields.GetValueOrDefault(JobFields.Region, ""),
            Function = fields.GetValueOrDefault(JobFields.Function, ""),
            Key = fields.GetValueOrDefault(JobFields.Key, ""),
            BackendKey = fields.GetValueOrDefault(JobFields.BackendKey, ""),
            Consumer = fields.GetValueOrDefault("consumer", ""),
            EntryId = fields.GetValueOrDefault("entryId", ""),
            EnqueuedAt = UnixMs(fields.GetValueOrDefault(JobFields.EnqueuedAt)),
            DeadLetteredAt = UnixMs(fields.GetValueOrDefault("deadLetteredAt")),
            Fields = fields,
        };
    }

    private static string[] RequireStreamIds(IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        string[] all = [.. ids.Distinct(StringComparer.Ordinal)];
        foreach (string id in all)
        {
            RequireStreamId(id);
        }

        return all;
    }

    private static void RequireStreamId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        int dash = id.IndexOf('-', StringComparison.Ordinal);
        bool valid = dash > 0 && dash < id.Length - 1
            && ulong.TryParse(id.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && ulong.TryParse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _);
        if (!valid)
        {
            throw new ArgumentException($"'{id}' is not a stream id (milliseconds-sequence, for example 1700000000000-0).", nameof(id));
        }
    }
}
