using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dogpile.Memcached.Client;

/// <summary>
/// A memcached client speaking the meta protocol to one or more servers, keys placed by ketama hashing.
/// </summary>
/// <remarks>
/// <para>Each server has a bounded pool (<see cref="MemcachedClientOptions.MaxConnectionsPerServer"/>); a connection
/// is lent to one call at a time, and <see cref="GetManyAsync"/> pipelines a whole batch on one connection per
/// server. A connection that saw an error reply, garbage, a close or a timeout is discarded, never reused.</para>
/// <para>A server whose connect fails is marked dead for <see cref="MemcachedClientOptions.DeadServerRetryDelay"/>;
/// calls for its keys then fail fast with <see cref="MemcachedServerUnavailableException"/>. Keys are deliberately
/// <b>not</b> remapped to the remaining servers: two servers answering for one key would serve inconsistent values
/// and let two holders take the same lock.</para>
/// <para>TTLs: <see cref="TimeSpan.Zero"/> means "never expires". memcached reads an expiration above 30 days as an
/// absolute unix time, so longer TTLs are converted to one using the injected <see cref="TimeProvider"/>.</para>
/// <para>Observability: <see cref="OpenConnectionCount"/>, log events 1001-1003 (see <c>Log</c>), and the
/// <c>Dogpile.Memcached</c> meter (<c>dogpile.memcached.connections.open</c>, <c>.connections.discarded</c>,
/// <c>.servers.marked_dead</c>).</para>
/// </remarks>
internal sealed class MemcachedClient : IDisposable
{
    /// <summary>Keys per pipelined <c>mg</c> batch: bounds the request size so neither side blocks on a full socket.</summary>
    internal const int GetManyBatchSize = 64;

    internal const int MaxKeyLength = 250;

    /// <summary>memcached treats an expiration above this many seconds as an absolute unix time.</summary>
    internal const long MaxRelativeExpirationSeconds = 60 * 60 * 24 * 30;

    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly KetamaRing _ring;
    private readonly MemcachedServerPool[] _servers;
    private readonly MemcachedMetrics _metrics;

    public MemcachedClient(MemcachedClientOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        var addresses = options.Servers.Select(ServerAddress.Parse).ToArray();
        _ring = new KetamaRing(addresses.Select(a => a.RingName).ToArray());
        _metrics = new MemcachedMetrics(() => _servers!);
        _servers = addresses
            .Select(a => new MemcachedServerPool(a, options, _timeProvider, logger ?? NullLogger.Instance, _metrics))
            .ToArray();
    }

    /// <summary>The per-server pools, in configured order.</summary>
    internal IReadOnlyList<MemcachedServerPool> Servers => _servers;

    /// <summary>This client's instruments on the <c>Dogpile.Memcached</c> meter.</summary>
    internal MemcachedMetrics Metrics => _metrics;

    /// <summary>The largest value this client sends (<see cref="MemcachedClientOptions.MaxItemSize"/>).</summary>
    internal int MaxItemSize => _options.MaxItemSize;

    /// <summary>The client's clock (the backend times failed calls with it).</summary>
    internal TimeProvider Time => _timeProvider;

    /// <summary>Sockets open to all servers together, idle or in use.</summary>
    public int OpenConnectionCount => _servers.Sum(static s => s.OpenConnections);

    /// <summary>The server that owns <paramref name="key"/>.</summary>
    internal MemcachedServerPool GetServer(string key) => _servers[_ring.GetServerIndex(EncodeKey(key))];

    /// <summary>Gets a value with its flags, CAS and remaining TTL (<c>mg &lt;key&gt; v f c t</c>).</summary>
    /// <exception cref="ArgumentException">The key is empty, longer than 250 bytes, or has spaces or control characters.</exception>
    /// <exception cref="MemcachedException">The server failed, is marked dead, timed out or replied with garbage.</exception>
    public ValueTask<MemcachedGetResult> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKey(key);
        return ServerFor(encoded).ExecuteAsync("get", encoded, static async (connection, key, ct) =>
        {
            connection.Writer.WriteCommand("mg"u8, key);
            connection.Writer.Write(" v f c t\r\n"u8);
            await connection.FlushAsync(ct).ConfigureAwait(false);
            var response = await connection.ReadAsync(ct).ConfigureAwait(false);
            return response.Status switch
            {
                MetaStatus.Value => ToGetResult(response),
                MetaStatus.Miss => MemcachedGetResult.Miss,
                _ => throw Unexpected("mg", response),
            };
        }, idempotent: true, cancellationToken);
    }

    /// <summary>
    /// Gets many keys with one pipelined batch per server (<c>mg &lt;key&gt; v f c t q O&lt;n&gt;</c> per key, ended
    /// by <c>mn</c>), the servers queried in parallel.
    /// </summary>
    /// <returns>The keys that were found; missing keys are absent from the dictionary.</returns>
    /// <exception cref="ArgumentException">A key is invalid; nothing was sent.</exception>
    /// <exception cref="MemcachedException">Any involved server failed; partial results are not returned.</exception>
    public async ValueTask<IReadOnlyDictionary<string, MemcachedGetResult>> GetManyAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var byServer = new Dictionary<int, List<(string Key, byte[] Encoded)>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var encoded = EncodeKey(key);
            if (!seen.Add(key))
            {
                continue;
            }

            var server = _ring.GetServerIndex(encoded);
            if (!byServer.TryGetValue(server, out var list))
            {
                byServer[server] = list = [];
            }

            list.Add((key, encoded));
        }

        var results = new Dictionary<string, MemcachedGetResult>(seen.Count, StringComparer.Ordinal);
        var tasks = new List<Task<List<(string, MemcachedGetResult)>>>(byServer.Count);
        foreach (var (server, serverKeys) in byServer)
        {
            tasks.Add(_servers[server].ExecuteAsync("get_many", serverKeys, GetBatchAsync, idempotent: true, cancellationToken).AsTask());
        }

        foreach (var found in await Task.WhenAll(tasks).ConfigureAwait(false))
        {
            foreach (var (key, result) in found)
            {
                results[key] = result;
            }
        }

        return results;
    }

    private static async ValueTask<List<(string, MemcachedGetResult)>> GetBatchAsync(
        MemcachedConnection connection, List<(string Key, byte[] Encoded)> keys, CancellationToken ct)
    {
        var found = new List<(string, MemcachedGetResult)>();
        for (var offset = 0; offset < keys.Count; offset += GetManyBatchSize)
        {
            var count = Math.Min(GetManyBatchSize, keys.Count - offset);
            for (var i = 0; i < count; i++)
            {
                // q suppresses EN for misses; the opaque names which key a VA answers.
                connection.Writer.WriteCommand("mg"u8, keys[offset + i].Encoded);
                connection.Writer.Write(" v f c t q"u8);
                connection.Writer.WriteFlag('O', (ulong)i);
                connection.Writer.WriteEndOfLine();
            }

            connection.Writer.Write("mn\r\n"u8);
            await connection.FlushAsync(ct).ConfigureAwait(false);

            var lastOpaque = -1L;
            while (true)
            {
                var response = await connection.ReadAsync(ct).ConfigureAwait(false);
                if (response.Status == MetaStatus.NoOp)
                {
                    break;
                }

                // Replies come back in request order, so opaques must rise; anything else is a desynced stream.
                if (response.Status != MetaStatus.Value || response.Opaque is not { } opaque || opaque >= count || opaque <= lastOpaque)
                {
                    throw Unexpected("pipelined mg", response);
                }

                lastOpaque = opaque;
                found.Add((keys[offset + (int)opaque].Key, ToGetResult(response)));
            }
        }

        return found;
    }

    /// <summary>Stores a value (<c>ms &lt;key&gt; &lt;size&gt; T F M [C] c</c>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes to store; at most <see cref="MemcachedClientOptions.MaxItemSize"/>.</param>
    /// <param name="flags">32-bit client flags stored with the value (e.g. a serializer format tag).</param>
    /// <param name="ttl">Time to live; <see cref="TimeSpan.Zero"/> means never expire; fractions round up to whole seconds.</param>
    /// <param name="mode">Set, add (only if missing), replace (only if present), append or prepend.</param>
    /// <param name="compareCas">When set, store only if the item's CAS still equals it (compare-and-set).</param>
    /// <param name="cancellationToken">Cancels the call; the connection in use is then discarded.</param>
    /// <exception cref="MemcachedItemTooLargeException">The value exceeds the maximum item size; nothing was sent.</exception>
    public ValueTask<MemcachedStoreResult> SetAsync(
        string key,
        ReadOnlyMemory<byte> value,
        uint flags,
        TimeSpan ttl,
        MemcachedStoreMode mode = MemcachedStoreMode.Set,
        ulong? compareCas = null,
        CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKey(key);
        if (value.Length > _options.MaxItemSize)
        {
            ThrowTooLarge(key, value.Length);
        }

        var expiration = ToExpiration(ttl);
        var request = new StoreRequest(encoded, value, flags, expiration, mode, compareCas);
        return ServerFor(encoded).ExecuteAsync("set", request, static async (connection, request, ct) =>
        {
            var writer = connection.Writer;
            writer.WriteCommand("ms"u8, request.Key);
            writer.Write(" "u8);
            writer.WriteNumber(request.Value.Length);
            writer.WriteFlag('T', request.Expiration);
            writer.WriteFlag('F', (ulong)request.Flags);
            writer.Write(request.Mode switch
            {
                MemcachedStoreMode.Add => " ME"u8,
                MemcachedStoreMode.Replace => " MR"u8,
                MemcachedStoreMode.Append => " MA"u8,
                MemcachedStoreMode.Prepend => " MP"u8,
                _ => " MS"u8,
            });
            if (request.CompareCas is { } cas)
            {
                writer.WriteFlag('C', cas);
            }

            writer.Write(" c\r\n"u8);
            writer.Write(request.Value.Span);
            writer.WriteEndOfLine();
            await connection.FlushAsync(ct).ConfigureAwait(false);
            var response = await connection.ReadAsync(ct).ConfigureAwait(false);
            return response.Status switch
            {
                MetaStatus.Success => new MemcachedStoreResult(MemcachedStoreStatus.Stored, response.Cas ?? 0),
                MetaStatus.NotStored => new MemcachedStoreResult(MemcachedStoreStatus.NotStored, 0),
                MetaStatus.Exists => new MemcachedStoreResult(MemcachedStoreStatus.Exists, 0),
                MetaStatus.NotFound => new MemcachedStoreResult(MemcachedStoreStatus.NotFound, 0),
                _ => throw Unexpected("ms", response),
            };
        }, idempotent: false, cancellationToken);
    }

    /// <summary>Deletes a key (<c>md &lt;key&gt; [C&lt;cas&gt;]</c>), optionally only if its CAS still matches.</summary>
    public ValueTask<MemcachedDeleteStatus> DeleteAsync(string key, ulong? compareCas = null, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKey(key);
        return ServerFor(encoded).ExecuteAsync("delete", (encoded, compareCas), static async (connection, request, ct) =>
        {
            connection.Writer.WriteCommand("md"u8, request.encoded);
            if (request.compareCas is { } cas)
            {
                connection.Writer.WriteFlag('C', cas);
            }

            connection.Writer.WriteEndOfLine();
            await connection.FlushAsync(ct).ConfigureAwait(false);
            var response = await connection.ReadAsync(ct).ConfigureAwait(false);
            return response.Status switch
            {
                MetaStatus.Success => MemcachedDeleteStatus.Deleted,
                MetaStatus.NotFound => MemcachedDeleteStatus.NotFound,
                MetaStatus.Exists => MemcachedDeleteStatus.Exists,
                _ => throw Unexpected("md", response),
            };
        }, idempotent: false, cancellationToken);
    }

    /// <summary>Sets a new TTL on an existing key without fetching it (<c>mg &lt;key&gt; T&lt;ttl&gt;</c>).</summary>
    /// <returns>True if the key existed.</returns>
    public ValueTask<bool> TouchAsync(string key, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKey(key);
        var expiration = ToExpiration(ttl);
        return ServerFor(encoded).ExecuteAsync("touch", (encoded, expiration), static async (connection, request, ct) =>
        {
            connection.Writer.WriteCommand("mg"u8, request.encoded);
            connection.Writer.WriteFlag('T', request.expiration);
            connection.Writer.WriteEndOfLine();
            await connection.FlushAsync(ct).ConfigureAwait(false);
            var response = await connection.ReadAsync(ct).ConfigureAwait(false);
            return response.Status switch
            {
                MetaStatus.Success => true,
                MetaStatus.Miss => false,
                _ => throw Unexpected("mg (touch)", response),
            };
        }, idempotent: false, cancellationToken);
    }

    /// <summary>Adds <paramref name="delta"/> to a decimal counter (<c>ma &lt;key&gt; D v</c>); wraps at 2^64.</summary>
    /// <param name="key">The key.</param>
    /// <param name="delta">How much to add.</param>
    /// <param name="initialValue">
    /// When set, a missing key is created with this value (and <paramref name="ttl"/>) and that value is returned
    /// without adding <paramref name="delta"/>, as memcached's auto-vivify does.
    /// </param>
    /// <param name="ttl">TTL used only when the key is created; zero means never expire.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new value, or null if the key does not exist (and no initial value was given).</returns>
    public ValueTask<ulong?> IncrementAsync(string key, ulong delta = 1, ulong? initialValue = null, TimeSpan ttl = default, CancellationToken cancellationToken = default) =>
        ArithmeticAsync(key, delta, increment: true, initialValue, ttl, cancellationToken);

    /// <summary>Subtracts <paramref name="delta"/> from a decimal counter (<c>ma &lt;key&gt; MD D v</c>); stops at 0.</summary>
    /// <inheritdoc cref="IncrementAsync" path="/param"/>
    /// <returns>The new value, or null if the key does not exist (and no initial value was given).</returns>
    public ValueTask<ulong?> DecrementAsync(string key, ulong delta = 1, ulong? initialValue = null, TimeSpan ttl = default, CancellationToken cancellationToken = default) =>
        ArithmeticAsync(key, delta, increment: false, initialValue, ttl, cancellationToken);

    private ValueTask<ulong?> ArithmeticAsync(string key, ulong delta, bool increment, ulong? initialValue, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var encoded = EncodeKey(key);
        var expiration = ToExpiration(ttl);
        return ServerFor(encoded).ExecuteAsync(increment ? "incr" : "decr", (encoded, delta, increment, initialValue, expiration), static async (connection, request, ct) =>
        {
            var writer = connection.Writer;
            writer.WriteCommand("ma"u8, request.encoded);
            writer.Write(request.increment ? " MI"u8 : " MD"u8);
            writer.WriteFlag('D', request.delta);
            if (request.initialValue is { } initial)
            {
                writer.WriteFlag('N', request.expiration);
                writer.WriteFlag('J', initial);
            }

            writer.Write(" v\r\n"u8);
            await connection.FlushAsync(ct).ConfigureAwait(false);
            var response = await connection.ReadAsync(ct).ConfigureAwait(false);
            switch (response.Status)
            {
                case MetaStatus.NotFound:
                    return (ulong?)null;
                case MetaStatus.Value:
                    // memcached pads a shrunken counter with spaces ("9 " after 10 - 1); the digits are what count.
                    var digits = response.Value.AsSpan().TrimEnd((byte)' ');
                    return MetaResponseParser.TryParseUInt64(digits, out var number)
                        ? number
                        : throw new MemcachedProtocolException("The memcached server returned a counter that is not a number.");
                default:
                    throw Unexpected("ma", response);
            }
        }, idempotent: false, cancellationToken);
    }

    /// <summary>Sends <c>mn</c> to every server and waits for <c>MN</c>: a cheap health check.</summary>
    /// <exception cref="MemcachedException">A server failed or is marked dead.</exception>
    public async ValueTask NoopAsync(CancellationToken cancellationToken = default)
    {
        var tasks = _servers.Select(server => server.ExecuteAsync("noop", 0, static async (connection, _, ct) =>
        {
            connection.Writer.Write("mn\r\n"u8);
            await connection.FlushAsync(ct).ConfigureAwait(false);
            var response = await connection.ReadAsync(ct).ConfigureAwait(false);
            return response.Status == MetaStatus.NoOp ? true : throw Unexpected("mn", response);
        }, idempotent: true, cancellationToken).AsTask());
        _ = await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>
    /// Turns a TTL into memcached's expiration field: seconds (rounded up so a short TTL never becomes "forever")
    /// up to 30 days, an absolute unix time beyond, capped at the largest 32-bit time memcached accepts.
    /// </summary>
    internal long ToExpiration(TimeSpan ttl)
    {
        if (ttl < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "A TTL cannot be negative; use TimeSpan.Zero for no expiration.");
        }

        if (ttl == TimeSpan.Zero)
        {
            return 0;
        }

        var seconds = (ttl.Ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
        if (ttl.Ticks > TimeSpan.MaxValue.Ticks - TimeSpan.TicksPerSecond)
        {
            seconds = ttl.Ticks / TimeSpan.TicksPerSecond;
        }

        if (seconds <= MaxRelativeExpirationSeconds)
        {
            return seconds;
        }

        var absolute = _timeProvider.GetUtcNow().ToUnixTimeSeconds() + seconds;
        return Math.Min(absolute, int.MaxValue);
    }

    /// <summary>UTF-8 encodes a key and enforces memcached's text-protocol rules before anything is sent.</summary>
    internal static byte[] EncodeKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new ArgumentException("A memcached key cannot be empty.", nameof(key));
        }

        if (key.Length > MaxKeyLength * 3 || Encoding.UTF8.GetByteCount(key) > MaxKeyLength)
        {
            throw new ArgumentException($"A memcached key can be at most {MaxKeyLength} bytes (UTF-8); this one is longer.", nameof(key));
        }

        var bytes = Encoding.UTF8.GetBytes(key);
        foreach (var b in bytes)
        {
            if (b <= 0x20 || b == 0x7F)
            {
                throw new ArgumentException("A memcached key cannot contain spaces or control characters.", nameof(key));
            }
        }

        return bytes;
    }

    private MemcachedServerPool ServerFor(byte[] encodedKey) => _servers[_ring.GetServerIndex(encodedKey)];

    private static MemcachedGetResult ToGetResult(MetaResponse response) =>
        new(true, response.Value, response.ClientFlags ?? 0, response.Cas ?? 0,
            response.Ttl is { } ttl and >= 0 ? TimeSpan.FromSeconds(ttl) : null);

    private static MemcachedProtocolException Unexpected(string command, MetaResponse response) =>
        new($"The memcached server answered '{response}' to {command}, which that command never returns. The connection was discarded.");

    [DoesNotReturn]
    private void ThrowTooLarge(string key, int length) =>
        throw new MemcachedItemTooLargeException(
            $"The value for key '{key}' is {length} bytes, more than {nameof(MemcachedClientOptions.MaxItemSize)} ({_options.MaxItemSize}); nothing was sent.");

    public void Dispose()
    {
        foreach (var server in _servers)
        {
            server.Dispose();
        }

        _metrics.Dispose();
    }

    private readonly record struct StoreRequest(byte[] Key, ReadOnlyMemory<byte> Value, uint Flags, long Expiration, MemcachedStoreMode Mode, ulong? CompareCas);
}
