using Dogpile.Engine;

namespace Dogpile;

/// <summary>A value with its metadata.</summary>
/// <typeparam name="T">The value type.</typeparam>
public readonly struct CacheItem<T>
{
    private readonly long _nowUtcTicks;
    private readonly EntryLifetime _lifetime;

    internal CacheItem(T value, long createdUtcTicks, long nowUtcTicks, bool isStale, CacheItemSource source, EntryLifetime lifetime, bool degraded = false)
    {
        Degraded = degraded;
        Value = value;
        CreatedUtcTicks = createdUtcTicks;
        _nowUtcTicks = nowUtcTicks;
        IsStale = isStale;
        Source = source;
        _lifetime = lifetime;
    }

    /// <summary>The value.</summary>
    public T Value { get; }

    /// <summary>When the value's creator finished.</summary>
    public DateTimeOffset Created => new(CreatedUtcTicks, TimeSpan.Zero);

    /// <summary>How old the value was when it was read (never negative).</summary>
    public TimeSpan Age => new(Math.Max(0, _nowUtcTicks - CreatedUtcTicks));

    /// <summary>Whether the value was expired or invalidated when read.</summary>
    public bool IsStale { get; }

    /// <summary>How this value was served.</summary>
    public CacheItemSource Source { get; }

    /// <summary>The value's logical expiration; <see langword="null"/> when it never expires.</summary>
    public TimeSpan? Expiration => _lifetime.ToExpiration();

    /// <summary>
    /// Whether the shared backend (or its lock) was unavailable while this value was served, so it came from this
    /// process alone: created here under the in-process lock, or held here since such a creation
    /// (<see cref="CacheBackendFailurePolicy.Degrade"/>). Other processes may hold another value for the key meanwhile.
    /// </summary>
    public bool Degraded { get; }

    internal long CreatedUtcTicks { get; }

    internal CacheItem<T> AsDegraded() => new(Value, CreatedUtcTicks, _nowUtcTicks, IsStale, Source, _lifetime, degraded: true);
}
