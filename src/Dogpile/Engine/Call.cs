namespace Dogpile.Engine;

/// <summary>Everything a slow-path call needs, captured once so flights and refreshes can carry it.</summary>
internal sealed class Call<TState, T>(
    string key,
    string backendKey,
    TState state,
    Func<TState, CancellationToken, ValueTask<T>> creator,
    CacheEntryOptions? options,
    EntryLifetime lifetime,
    IRegisteredFunction? function,
    object? arguments)
{
    public string Key { get; } = key;

    public string BackendKey { get; } = backendKey;

    public TState State { get; } = state;

    public Func<TState, CancellationToken, ValueTask<T>> Creator { get; } = creator;

    public CacheEntryOptions? Options { get; } = options;

    public EntryLifetime Lifetime { get; } = lifetime;

    public IRegisteredFunction? Function { get; } = function;

    public object? Arguments { get; } = arguments;
}
