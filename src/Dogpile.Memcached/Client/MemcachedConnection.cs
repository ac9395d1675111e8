using System.Buffers;
using System.Net.Sockets;

namespace Dogpile.Memcached.Client;

/// <summary>
/// One socket to one server, used by one caller at a time (the pool hands it out exclusively). Requests are
/// appended to <see cref="Writer"/> and sent together by <see cref="FlushAsync"/>, so a batch of commands is
/// pipelined: written in order, and its replies read back in the same order with <see cref="ReadAsync"/>.
/// </summary>
/// <remarks>
/// Any failure leaves the reply stream in an unknown position, so the owner must discard the connection after an
/// exception from <see cref="FlushAsync"/> or <see cref="ReadAsync"/> instead of returning it to the pool.
/// </remarks>
internal sealed class MemcachedConnection : IDisposable
{
    private const int InitialBufferSize = 16 * 1024;
    private const int ShrinkAboveSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly int _maxItemSize;
    private readonly int _maxBufferSize;
    private byte[] _buffer = new byte[InitialBufferSize];
    private int _start;
    private int _end;

    private MemcachedConnection(Socket socket, int maxItemSize)
    {
        _socket = socket;
        _maxItemSize = maxItemSize;
        // The largest reply is a maximal header line, a maximal value and its CRLF.
        _maxBufferSize = maxItemSize + MetaResponseParser.MaxLineLength + 4;
    }

    /// <summary>The request being built; <see cref="FlushAsync"/> sends and clears it.</summary>
    public ArrayBufferWriter<byte> Writer { get; } = new(256);

    /// <summary>Opens a TCP connection. Socket failures surface as <see cref="SocketException"/>.</summary>
    public static async ValueTask<MemcachedConnection> OpenAsync(ServerAddress address, int maxItemSize, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(address.EndPoint, cancellationToken).ConfigureAwait(false);
            return new MemcachedConnection(socket, maxItemSize);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends everything in <see cref="Writer"/>.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var pending = Writer.WrittenMemory;
        try
        {
            while (!pending.IsEmpty)
            {
                var sent = await _socket.SendAsync(pending, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                pending = pending[sent..];
            }
        }
        catch (SocketException ex)
        {
            throw new MemcachedConnectionException($"Sending to the memcached server failed: {ex.Message}", ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new MemcachedConnectionException("The connection to the memcached server was closed.", ex);
        }

        Writer.ResetWrittenCount();
    }

    /// <summary>Reads the next reply. Error replies are thrown as <see cref="MemcachedServerErrorException"/>.</summary>
    public async ValueTask<MetaResponse> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_end > _start
                && MetaResponseParser.TryParse(_buffer.AsSpan(_start, _end - _start), _maxItemSize, out var response, out var consumed))
            {
                _start += consumed;
                if (_start == _end)
                {
                    _start = _end = 0;
                    if (_buffer.Length > ShrinkAboveSize)
                    {
                        // One large value should not pin a megabyte per pooled socket for the pool's lifetime.
                        _buffer = new byte[InitialBufferSize];
                    }
                }

                return response.Status switch
                {
                    MetaStatus.Error => throw new MemcachedServerErrorException(
                        "The memcached server answered ERROR (command not understood). The connection was discarded."),
                    MetaStatus.ClientError => throw new MemcachedServerErrorException(
                        $"The memcached server answered CLIENT_ERROR {response.ErrorMessage}. The connection was discarded."),
                    MetaStatus.ServerError => throw new MemcachedServerErrorException(
                        $"The memcached server answered SERVER_ERROR {response.ErrorMessage}. The connection was discarded."),
                    _ => response,
                };
            }

            MakeRoom();
            int received;
            try
            {
                received = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new MemcachedConnectionException($"Receiving from the memcached server failed: {ex.Message}", ex);
            }
            catch (ObjectDisposedException ex)
            {
                throw new MemcachedConnectionException("The connection to the memcached server was closed.", ex);
            }

            if (received == 0)
            {
                throw new MemcachedConnectionException(_end > _start
                    ? "The memcached server closed the connection in the middle of a reply."
                    : "The memcached server closed the connection before replying.");
            }

            _end += received;
        }
    }

    private void MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return;
        }

        var used = _end - _start;
        if (_start > 0)
        {
            // Slide the unparsed tail to the front before growing: most replies are small.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, used);
            _start = 0;
            _end = used;
            if (_end < _buffer.Length)
            {
                return;
            }
        }

        if (_buffer.Length >= _maxBufferSize)
        {
            // The parser caps line length and value size, so this means the peer broke those rules.
            throw new MemcachedProtocolException("The memcached server sent a reply larger than the maximum item size allows.");
        }

        Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, _maxBufferSize));
    }

    public void Dispose() => _socket.Dispose();
}
