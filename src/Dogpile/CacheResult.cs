namespace Dogpile;

/// <summary>The result of a plain read: a fresh value, or a miss.</summary>
/// <typeparam name="T">The value type.</typeparam>
public readonly struct CacheResult<T>
{
    /// <summary>A hit.</summary>
    /// <param name="value">The value.</param>
    public CacheResult(T value)
    {
        HasValue = true;
        Value = value;
    }

    private CacheResult(bool degraded)
    {
        Value = default!;
        Degraded = degraded;
    }

    /// <summary>A miss because the backend could not be read (<see cref="CacheBackendFailurePolicy.Degrade"/>).</summary>
    internal static CacheResult<T> DegradedMiss => new(degraded: true);

    /// <summary>Whether a fresh value was found.</summary>
    public bool HasValue { get; }

    /// <summary>The value; <see langword="default"/> on a miss.</summary>
    public T Value { get; }

    /// <summary>
    /// Whether the backend was unavailable for this read and the answer came without it (a miss under
    /// <see cref="CacheBackendFailurePolicy.Degrade"/>): the value may exist in the backend.
    /// </summary>
    public bool Degraded { get; }
}
