using Dogpile.Internal;

namespace Dogpile.Memcached;

/// <summary>
/// Settings of <see cref="DogpileMemcached"/>: the client's servers and pools, the lock, and the backend's key prefix.
/// Bindable from configuration (<c>Client:Servers:0</c>, <c>Lock:Lease</c>, <c>Backend:KeyPrefix</c>).
/// </summary>
public sealed class DogpileMemcachedOptions : ICheckedOptions
{
    /// <summary>Which servers to use and how hard to try each one; at least one server is required.</summary>
    /// <value>Default: the defaults of <see cref="MemcachedClientOptions"/>, with no server.</value>
    public MemcachedClientOptions Client { get; } = new();

    /// <summary>The cross-process lock's lease and back-off.</summary>
    /// <value>Default: the defaults of <see cref="MemcachedLockOptions"/>.</value>
    public MemcachedLockOptions Lock { get; } = new();

    /// <summary>The backend's own key prefix (in front of every region's prefix).</summary>
    /// <value>Default: the defaults of <see cref="MemcachedCacheBackendOptions"/> (no prefix).</value>
    public MemcachedCacheBackendOptions Backend { get; } = new();

    /// <summary>Throws when a value is out of range or contradicts another.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (and lists every other problem).</exception>
    public void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(DogpileMemcachedOptions));
        check.Include(nameof(Client), ((ICheckedOptions)Client).Check());
        check.Include(nameof(Lock), ((ICheckedOptions)Lock).Check());
        check.Include(nameof(Backend), ((ICheckedOptions)Backend).Check());
        return check;
    }
}
