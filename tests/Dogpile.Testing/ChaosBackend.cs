using System.Threading.Tasks.Sources;

namespace Dogpile.Testing;

/// <summary>A decorator that injects failures or delays into a backend (FusionCache's chaos idea).</summary>
public sealed class ChaosBackend(ICacheBackend inner) : ICacheBackend
{
    public bool FailReads { get; set; }

    public bool FailWrites { get; set; }

    /// <summary>Every read, write and removal throws <see cref="CacheBackendUnavailableException"/> (a server that is down).</summary>
    public bool Unavailable { get; set; }

    /// <summary>The backend's own failure policy (<see cref="ICacheBackend.FailurePolicy"/>).</summary>
    public CacheBackendFailurePolicy? FailurePolicy { get; set; }

    public int Removes;

    private static CacheBackendUnavailableException Down()
        => new("chaos: backend unavailable (refused)", CacheBackendFailure.NotConnected, TimeSpan.Zero);

    public Func<Task>? BeforeRead { get; set; }

    /// <summary>Runs after the inner read and before its result is returned: a read that is slow to come back.</summary>
    public Func<Task>? AfterRead { get; set; }

    public int Reads;
    public int Writes;
    public readonly List<string> WrittenKeys = [];

    public bool StoresObjects => inner.StoresObjects;

    public int MaxKeyLength => inner.MaxKeyLength;

    public Func<string, string>? DefaultKeyMangler => inner.DefaultKeyMangler;

    /// <summary>
    /// Reads report "pending" the first time they are looked at and "done" after that: the read that completes
    /// between one check of the caller's and the next.
    /// </summary>
    public bool CompleteReadsOnSecondLook { get; set; }

    public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (!CompleteReadsOnSecondLook)
        {
            return ReadAsync(key, cancellationToken);
        }

        ValueTask<CacheEntry?> read = ReadAsync(key, cancellationToken);
        return read.IsCompletedSuccessfully ? new ValueTask<CacheEntry?>(new DoneOnSecondLook(read.Result), 0) : read;
    }

    private async ValueTask<CacheEntry?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Reads);
        if (BeforeRead is { } before)
        {
            await before();
        }

        if (FailReads)
        {
            throw new IOException("chaos: read failed");
        }

        if (Unavailable)
        {
            throw Down();
        }

        CacheEntry? entry = await inner.GetAsync(key, cancellationToken);
        if (AfterRead is { } after)
        {
            await after();
        }

        return entry;
    }

    public ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
        => FailReads ? throw new IOException("chaos: read failed") : Unavailable ? ValueTask.FromException<CacheEntry?[]>(Down()) : inner.GetManyAsync(keys, cancellationToken);

    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Writes);
        lock (WrittenKeys)
        {
            WrittenKeys.Add(key);
        }

        return FailWrites ? throw new IOException("chaos: write failed") : Unavailable ? ValueTask.FromException(Down()) : inner.SetAsync(key, entry, timeToLive, cancellationToken);
    }

    public ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref Writes, entries.Count);
        lock (WrittenKeys)
        {
            WrittenKeys.AddRange(entries.Select(e => e.Key));
        }

        return FailWrites ? throw new IOException("chaos: write failed") : Unavailable ? ValueTask.FromException(Down()) : inner.SetManyAsync(entries, cancellationToken);
    }

    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Removes);
        return Unavailable ? ValueTask.FromException<bool>(Down()) : inner.RemoveAsync(key, cancellationToken);
    }

    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
        => Unavailable ? ValueTask.FromException(Down()) : inner.RemoveManyAsync(keys, cancellationToken);

    private sealed class DoneOnSecondLook(CacheEntry? entry) : IValueTaskSource<CacheEntry?>
    {
        private int _looks;

        public ValueTaskSourceStatus GetStatus(short token)
            => Interlocked.Increment(ref _looks) == 1 ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;

        public CacheEntry? GetResult(short token) => entry;

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => ThreadPool.QueueUserWorkItem(continuation, state, preferLocal: false);
    }
}
