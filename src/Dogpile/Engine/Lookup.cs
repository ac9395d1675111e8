namespace Dogpile.Engine;

/// <summary>An entry as a read judged it: its state, the entry, and its value when it has one.</summary>
internal readonly struct Lookup<T>
{
    public Lookup(EntryState state, CacheEntry? entry, T value)
    {
        State = state;
        Entry = entry;
        Value = value;
    }

    public EntryState State { get; }

    public CacheEntry? Entry { get; }

    public T Value { get; }

    public bool HasValue => State != EntryState.Missing;

    public bool IsFresh => State is EntryState.Fresh or EntryState.FreshEarly;

    public static Lookup<T> Missing => default;

    /// <summary>The lookup as an item read at <paramref name="now"/>.</summary>
    public CacheItem<T> ToItem(long now, CacheItemSource source)
        => new(
            Value,
            Entry!.CreatedUtcTicks,
            now,
            State is EntryState.Stale or EntryState.TooStale,
            source,
            Entry.Lifetime,
            Entry.CreatedDuringOutage);
}
