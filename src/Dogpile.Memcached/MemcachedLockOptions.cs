using Dogpile.Internal;

namespace Dogpile.Memcached;

/// <summary>Settings of the memcached lock (<see cref="DogpileMemcached.LockProvider"/>).</summary>
public sealed class MemcachedLockOptions : ICheckedOptions
{
    /// <summary>
    /// How long a lock lives in memcached unless extended: a holder that crashes keeps the key locked for at most this
    /// long. Keep it longer than the slowest creator (or leave <see cref="RenewWhileHeld"/> on): a creator that outlives
    /// its lease loses the lock, and another process may create the same value at the same time.
    /// </summary>
    /// <value>
    /// Default: 30 seconds; at least 2 seconds. memcached counts TTLs in whole seconds (fractions round up) on a clock that
    /// ticks once a second, so a lease can end up to one second early (a 1 s lease lasted as little as 0.07 s): renewal
    /// therefore comes every <see cref="Lease"/>/3 or (<see cref="Lease"/> − 1 s)/2, whichever is sooner.
    /// </value>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The shortest lease a lock is taken or extended with: memcached may end one up to a second early.</summary>
    internal static readonly TimeSpan MinimumLease = TimeSpan.FromSeconds(2);

    /// <summary>Whether a held lock extends its own lease (see <see cref="Lease"/> for how often) until it is released.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RenewWhileHeld { get; set; } = true;

    /// <summary>The shortest pause between two attempts of a caller waiting for a lock.</summary>
    /// <value>Default: 10 milliseconds; must be positive.</value>
    public TimeSpan MinRetryDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The longest pause between two attempts. Pauses grow with decorrelated jitter from <see cref="MinRetryDelay"/> up to
    /// this cap, and never run past the caller's timeout.
    /// </summary>
    /// <value>Default: 250 milliseconds; must not be shorter than <see cref="MinRetryDelay"/>.</value>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Throws <see cref="ArgumentException"/> naming the invalid option (and listing every other problem).</summary>
    internal void Validate() => ((ICheckedOptions)this).Check().ThrowIfInvalid();

    OptionsCheck ICheckedOptions.Check()
    {
        var check = new OptionsCheck(nameof(MemcachedLockOptions));
        check.Require(
            Lease >= MinimumLease,
            nameof(Lease),
            $"must be at least {MinimumLease.TotalSeconds:F0} seconds (memcached may end a lease up to a second early), not {Lease}");
        check.Positive(MinRetryDelay, nameof(MinRetryDelay));
        check.Require(MaxRetryDelay >= MinRetryDelay, nameof(MaxRetryDelay), $"({MaxRetryDelay}) is shorter than MinRetryDelay ({MinRetryDelay})");
        return check;
    }
}
