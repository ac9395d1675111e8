namespace Dogpile;

/// <summary>Why a refresh was started.</summary>
public enum RefreshReason
{
    /// <summary>The value expired and a caller was elected to regenerate it.</summary>
    Expired,

    /// <summary>The region was soft-invalidated after the value was created.</summary>
    SoftInvalidated,

    /// <summary>The value is still fresh but near its expiry (early refresh or probabilistic early expiration).</summary>
    EarlyRefresh,
}
