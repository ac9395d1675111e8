namespace Dogpile.Testing;

/// <summary>A decorator that injects failures or delays into a backend (FusionCache's chaos idea).</summary>
public sealed class ChaosBackend(ICacheBackend inner) : ICacheBackend
{
    public bool FailReads { get; set; }

    public bool FailWrites { get; set; }

    public Func<Task>? BeforeRead { get; set; }

    public int Reads;
    public int Writes;
    public readonly List<string> WrittenKeys = [];

    public bool StoresObjects => inner.StoresObjects;

    public int MaxKeyLength => inner.MaxKeyLength;

    public Func<string, string>? DefaultKeyMangler => inner.DefaultKeyMangler;

    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
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

        return await inner.GetAsync(key, cancellationToken);
    }

    public ValueTask<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
        => FailReads ? throw new IOException("chaos: read failed") : inner.GetManyAsync(keys, cancellationToken);

    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Writes);
        lock (WrittenKeys)
        {
            WrittenKeys.Add(key);
        }

        return FailWrites ? throw new IOException("chaos: write failed") : inner.SetAsync(key, entry, timeToLive, cancellationToken);
    }

    public ValueTask SetManyAsync(IReadOnlyList<CacheWrite> entries, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref Writes, entries.Count);
        lock (WrittenKeys)
        {
            WrittenKeys.AddRange(entries.Select(e => e.Key));
        }

        return FailWrites ? throw new IOException("chaos: write failed") : inner.SetManyAsync(entries, cancellationToken);
    }

    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);

    public ValueTask RemoveManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.RemoveManyAsync(keys, cancellationToken);
}
