using System.Net;
using System.Net.Sockets;

namespace Dogpile.Memcached.Tests.Infrastructure;

/// <summary>
/// A scripted TCP peer posing as memcached: the n-th accepted connection reads one request line and is handled by
/// the n-th behaviour (the last one repeats). Lets tests send error lines, garbage, or close mid-reply.
/// </summary>
public sealed class FakeMemcachedServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<NetworkStream, Task>[] _behaviours;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;

    public FakeMemcachedServer(params Func<NetworkStream, Task>[] behaviours)
    {
        _behaviours = behaviours;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>A behaviour that answers each request line with <paramref name="reply"/> and keeps going.</summary>
    public static Func<NetworkStream, Task> ReplyEachLine(byte[] reply) => async stream =>
    {
        while (await ReadLineAsync(stream) is not null)
        {
            await stream.WriteAsync(reply);
        }
    };

    /// <summary>A behaviour that reads one request line, writes <paramref name="reply"/> and then closes.</summary>
    public static Func<NetworkStream, Task> ReplyOnceThenClose(byte[] reply) => async stream =>
    {
        if (await ReadLineAsync(stream) is not null)
        {
            await stream.WriteAsync(reply);
        }
    };

    /// <summary>A behaviour that reads one request line and never answers (until the test ends).</summary>
    public static Func<NetworkStream, Task> NeverReply() => async stream =>
    {
        _ = await ReadLineAsync(stream);
        var buffer = new byte[1];
        _ = await stream.ReadAsync(buffer);
    };

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var index = Interlocked.Increment(ref _accepted) - 1;
            var behaviour = _behaviours[Math.Min(index, _behaviours.Length - 1)];
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        await behaviour(client.GetStream());
                    }
                    catch (IOException)
                    {
                        // The client hung up first: fine for a fake.
                    }
                }
            });
        }
    }

    private static async Task<string?> ReadLineAsync(NetworkStream stream)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            if (one[0] == '\n')
            {
                return System.Text.Encoding.ASCII.GetString(line.ToArray()).TrimEnd('\r');
            }

            line.Add(one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
