using System.Net.Sockets;
using System.Text;
using Dogpile.Internal;
using Dogpile.Memcached.Client;

namespace Dogpile.Memcached;

/// <summary>
/// Operations on what Dogpile keeps in memcached, for an operator or a script: one key's entry and lock, removing a
/// key, and each server's <c>stats</c>. The <c>dogpile</c> CLI is a thin layer over it.
/// </summary>
/// <remarks>
/// Keys are composed as the region and backend compose them: the region's <see cref="CacheRegionOptions.KeyPrefix"/>
/// and the key, hashed (as the backend does) when that breaks memcached's key rules,
/// then the backend's <see cref="MemcachedCacheBackendOptions.KeyPrefix"/> in front. A region with a
/// <see cref="CacheRegionOptions.KeyMangler"/> of its own stores other keys: give its backend key instead.
/// </remarks>
public sealed class DogpileMemcachedAdmin : IDisposable
{
    private readonly MemcachedClientOptions _clientOptions;
    private readonly MemcachedCacheBackend _backend;
    private readonly MemcachedLockProvider _locks;
    private readonly TimeProvider _time;

    /// <summary>Creates the admin with a client of its own, which it disposes.</summary>
    /// <param name="clientOptions">The servers, as the applications list them (the ring must match to find a key's server).</param>
    /// <param name="backendOptions">The applications' backend settings (their key prefix); <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> by default.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public DogpileMemcachedAdmin(MemcachedClientOptions clientOptions, MemcachedCacheBackendOptions? backendOptions = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(clientOptions);
        _clientOptions = clientOptions;
        _time = timeProvider ?? TimeProvider.System;
        _backend = new MemcachedCacheBackend(clientOptions, backendOptions, _time);
        _locks = new MemcachedLockProvider(_backend, timeProvider: _time);
    }

    /// <summary>The backend key a region stores <paramref name="key"/> under (its key prefix and the key, hashed when unsafe).</summary>
    /// <param name="regionKeyPrefix">The region's key prefix; empty for none.</param>
    /// <param name="key">The caller's key.</param>
    /// <returns>The backend key.</returns>
    public string BackendKeyFor(string regionKeyPrefix, string key)
    {
        ArgumentNullException.ThrowIfNull(regionKeyPrefix);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return _backend.DefaultKeyMangler(regionKeyPrefix + key);
    }

    /// <summary>Reads one key: its entry's times, size and state, and whether its lock is held.</summary>
    /// <param name="backendKey">The backend key (see <see cref="BackendKeyFor"/>).</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>What memcached holds for the key.</returns>
    /// <exception cref="MemcachedException">The server failed, is marked dead or timed out.</exception>
    public async ValueTask<MemcachedKeyInfo> InspectKeyAsync(string backendKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(backendKey);
        string serverKey = _backend.ToServerKey(backendKey);
        string lockKey = _locks.LockKeyFor(backendKey);
        MemcachedGetResult value = await _backend.Client.GetAsync(serverKey, cancellationToken).ConfigureAwait(false);
        MemcachedGetResult held = await _backend.Client.GetAsync(lockKey, cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = _time.GetUtcNow();
        var info = new MemcachedKeyInfo
        {
            BackendKey = backendKey,
            ServerKey = serverKey,
            Server = _backend.Client.GetServer(serverKey).Address.RingName,
            LockKey = lockKey,
            LockHeld = held.Found,
            LockRemainingLease = held.Found ? held.RemainingTtl : null,
        };
        if (!value.Found)
        {
            return info;
        }

        info = info with { Exists = true, SizeBytes = value.Value.Length, StaleUntil = value.RemainingTtl is { } t ? now + t : null };
        if (!StoredEntryView.TryRead(value.Value, out StoredEntryView? entry))
        {
            return info with { State = "unreadable" };
        }

        return info with
        {
            Created = entry.Created,
            CreationDuration = entry.CreationDuration,
            FreshUntil = entry.FreshUntil,
            State = entry.FreshUntil is { } f && now >= f ? "stale" : "fresh",
            PayloadPreview = entry.PayloadPreview,
            Tags = entry.Tags,
        };
    }

    /// <summary>Deletes a key's value.</summary>
    /// <param name="backendKey">The backend key (see <see cref="BackendKeyFor"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether a value was deleted.</returns>
    /// <exception cref="MemcachedException">The server failed, is marked dead or timed out.</exception>
    public ValueTask<bool> RemoveAsync(string backendKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(backendKey);
        return _backend.RemoveAsync(backendKey, cancellationToken);
    }

    /// <summary>Reads every server's <c>stats</c> (a connection of its own per server, closed after).</summary>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>One entry per configured server, in the configured order.</returns>
    /// <exception cref="MemcachedConnectionException">A server could not be reached or did not answer in time.</exception>
    public async ValueTask<IReadOnlyList<MemcachedServerStats>> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var all = new List<MemcachedServerStats>(_clientOptions.Servers.Count);
        foreach (string configured in _clientOptions.Servers)
        {
            all.Add(await ReadStatsAsync(ServerAddress.Parse(configured), cancellationToken).ConfigureAwait(false));
        }

        return all;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _locks.Dispose();
        _backend.Dispose();
    }

    private async Task<MemcachedServerStats> ReadStatsAsync(ServerAddress address, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_clientOptions.ConnectTimeout + _clientOptions.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(address.EndPoint, linked.Token).ConfigureAwait(false);
            _ = await socket.SendAsync("stats\r\n"u8.ToArray(), linked.Token).ConfigureAwait(false);
            var text = new StringBuilder();
            var buffer = new byte[8192];
            while (!text.ToString().EndsWith("END\r\n", StringComparison.Ordinal))
            {
                int read = await socket.ReceiveAsync(buffer, linked.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new MemcachedConnectionException($"memcached at {address} closed the connection before the end of its stats.");
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            var stats = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string line in text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            {
                string[] parts = line.Split(' ', 3);
                if (parts.Length == 3 && parts[0] == "STAT")
                {
                    stats[parts[1]] = parts[2];
                }
            }

            return new MemcachedServerStats(address.RingName, stats);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new MemcachedConnectionException($"memcached at {address} did not answer stats within {_clientOptions.ConnectTimeout + _clientOptions.RequestTimeout}.");
        }
        catch (SocketException ex)
        {
            throw new MemcachedConnectionException($"memcached at {address} could not be reached: {ex.Message}", ex);
        }
    }
}
