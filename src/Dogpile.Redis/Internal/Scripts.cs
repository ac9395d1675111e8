namespace Dogpile.Redis.Internal;

/// <summary>The Lua scripts: every compare-and-act on a lock or fence is one atomic script, one round trip.</summary>
internal static class Scripts
{
    /// <summary>
    /// KEYS: lock, fence, value. ARGV: token, lease ms, fence ttl ms, read ("1": also return the value). Returns the new
    /// fence, or 0 when the lock is held; with read, <c>{fence or 0, value or nil}</c>, the value read in the same step.
    /// </summary>
    /// <remarks>
    /// The fence is the counter plus one, but never less than the server's clock in microseconds (<c>TIME</c>): a counter
    /// that Redis lost (a restart without persistence, a failover to a replica that missed the last <c>INCR</c>, the
    /// fence key's expiry) starts again above every fence handed out before, so an old owner's late write can never match
    /// a new owner's fence. Between resets the fence grows by one per acquisition, far slower than the clock, so it never
    /// runs ahead of it. Lua numbers are doubles: microseconds since 1970 stay exact (below 2^53) until the year 2255.
    /// </remarks>
    public const string Acquire = """
        local fence = 0
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
          fence = redis.call('INCR', KEYS[2])
          local now = redis.call('TIME')
          local floor = tonumber(now[1]) * 1000000 + tonumber(now[2])
          if fence < floor then
            fence = floor
            redis.call('SET', KEYS[2], string.format('%.0f', floor), 'PX', ARGV[3])
          else
            redis.call('PEXPIRE', KEYS[2], ARGV[3])
          end
        end
        if ARGV[4] == '1' then
          return {fence, redis.call('GET', KEYS[3])}
        end
        return fence
        """;

    /// <summary>KEYS: lock. ARGV: token, channel, message. Compare-and-delete, then wake the waiters.</summary>
    public const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          redis.call('PUBLISH', ARGV[2], ARGV[3])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS: lock. ARGV: token, lease ms. Compare-and-pexpire.</summary>
    public const string Extend = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """;

    /// <summary>
    /// KEYS: value, lock, fence. ARGV: fence, bytes, ttl ms (0: none), token, channel, notice head, carry ("1": append the
    /// written bytes to the notices), change channel, change notice. Writes only while the fence is current (and then
    /// publishes the change notice); releases the caller's own lock either way. Returns 1 when written.
    /// </summary>
    public const string SetAndRelease = """
        local written = 0
        if redis.call('GET', KEYS[3]) == ARGV[1] then
          if tonumber(ARGV[3]) > 0 then
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
          else
            redis.call('SET', KEYS[1], ARGV[2])
          end
          written = 1
          if ARGV[7] == '1' then
            redis.call('PUBLISH', ARGV[8], ARGV[9] .. ARGV[2])
          else
            redis.call('PUBLISH', ARGV[8], ARGV[9])
          end
        end
        if redis.call('GET', KEYS[2]) == ARGV[4] then
          redis.call('DEL', KEYS[2])
          if written == 1 and ARGV[7] == '1' then
            redis.call('PUBLISH', ARGV[5], ARGV[6] .. ARGV[2])
          else
            redis.call('PUBLISH', ARGV[5], ARGV[6])
          end
        end
        return written
        """;

    /// <summary>
    /// KEYS: value. ARGV: bytes, ttl ms (0: none), change channel, change notice, carry ("1": append the written bytes to
    /// the notice). The write and its notice in one step.
    /// </summary>
    public const string SetAndNotify = """
        if tonumber(ARGV[2]) > 0 then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        else
          redis.call('SET', KEYS[1], ARGV[1])
        end
        if ARGV[5] == '1' then
          redis.call('PUBLISH', ARGV[3], ARGV[4] .. ARGV[1])
        else
          redis.call('PUBLISH', ARGV[3], ARGV[4])
        end
        return 1
        """;

    /// <summary>KEYS: value. ARGV: change channel, change notice. The removal and its notice in one step; returns 1 when a value was removed.</summary>
    public const string DeleteAndNotify = """
        local removed = redis.call('DEL', KEYS[1])
        redis.call('PUBLISH', ARGV[1], ARGV[2])
        return removed
        """;

    /// <summary>KEYS: hash. ARGV: hard, soft, channel, message. Keeps the later mark of each kind, then announces.</summary>
    public const string Invalidate = """
        local hard = tonumber(redis.call('HGET', KEYS[1], 'hard') or '0')
        local soft = tonumber(redis.call('HGET', KEYS[1], 'soft') or '0')
        if tonumber(ARGV[1]) > hard then redis.call('HSET', KEYS[1], 'hard', ARGV[1]) end
        if tonumber(ARGV[2]) > soft then redis.call('HSET', KEYS[1], 'soft', ARGV[2]) end
        if ARGV[5] == '1' then
          redis.call('PUBLISH', ARGV[3], ARGV[4] .. ARGV[1])
        else
          redis.call('PUBLISH', ARGV[3], ARGV[4])
        end
        return 1
        """;

    /// <summary>
    /// KEYS: tag hash. ARGV: tag, hard, soft, channel, region. Keeps the later mark of each kind for the tag, then
    /// announces the stored marks ("hard soft regionBytes region tag"), so subscribers apply them without a read.
    /// </summary>
    public const string InvalidateTag = """
        local hard = tonumber(redis.call('HGET', KEYS[1], 'h:' .. ARGV[1]) or '0')
        local soft = tonumber(redis.call('HGET', KEYS[1], 's:' .. ARGV[1]) or '0')
        if tonumber(ARGV[2]) > hard then hard = tonumber(ARGV[2]); redis.call('HSET', KEYS[1], 'h:' .. ARGV[1], ARGV[2]) end
        if tonumber(ARGV[3]) > soft then soft = tonumber(ARGV[3]); redis.call('HSET', KEYS[1], 's:' .. ARGV[1], ARGV[3]) end
        redis.call('PUBLISH', ARGV[4], string.format('%d %d %d ', hard, soft, #ARGV[5]) .. ARGV[5] .. ARGV[1])
        return 1
        """;

    /// <summary>
    /// KEYS: stream, pending marker. ARGV: job id, marker ttl ms, max length, channel, then field/value pairs.
    /// Adds the job unless the key already has one pending. Returns the entry id, or nil for a duplicate.
    /// </summary>
    public const string Enqueue = """
        if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
          return false
        end
        local fields = {}
        for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
        local id = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
        if type(id) == 'table' and id.err then
          -- Scripts do not roll back: without this the marker would block the key's refreshes for its whole TTL.
          redis.call('DEL', KEYS[2])
          return id
        end
        redis.call('PUBLISH', ARGV[4], id)
        return id
        """;

    /// <summary>
    /// KEYS: stream, pending marker, failures. ARGV: group, entry id, job id. Acknowledges and deletes the entry, clears
    /// the key's marker if it is this job's, and forgets the job's failures.
    /// </summary>
    public const string Complete = """
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[1], ARGV[2])
        if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
        redis.call('HDEL', KEYS[3], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: stream, dead-letter stream, pending marker, failures. ARGV: group, entry id, job id, max length, then
    /// field/value pairs. Completes the job and moves it to the dead-letter stream with its reason; a job no longer
    /// pending (another worker completed or dead-lettered it already) is left alone, so it is never dead-lettered twice.
    /// Returns 1 when it was moved, 0 when it was no longer pending.
    /// </summary>
    public const string DeadLetter = """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
          return 0
        end
        local fields = {}
        for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
        redis.call('XDEL', KEYS[1], ARGV[2])
        if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
        if ARGV[3] ~= '' then redis.call('HDEL', KEYS[4], ARGV[3]) end
        return 1
        """;
}
