using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>One distinct key of a multi-key get-or-create: what was read, the locks held for it, and its value.</summary>
internal sealed class MultiSlot<T>(string key, string backendKey)
{
    public string Key { get; } = key;

    public string BackendKey { get; } = backendKey;

    public Lookup<T> Lookup { get; set; }

    public T Value { get; private set; } = default!;

    public KeyedGates.GateLease? Gate { get; set; }

    public ICacheLock? DistributedLock { get; set; }

    public RefreshRequest? Request { get; set; }

    public bool DistributedReleased { get; set; }

    public void Done(T value) => Value = value;

    /// <summary>Releases what the slot holds, once: the elected refresh's locks, or the gate and the distributed lock.</summary>
    public async ValueTask ReleaseAsync(RegionContext context)
    {
        if (Request is not null)
        {
            await Request.ReleaseAfterRunAsync(DistributedReleased).ConfigureAwait(false);
            return;
        }

        Gate?.Release();
        if (DistributedLock is not null && !DistributedReleased)
        {
            await context.ReleaseQuietlyAsync(DistributedLock, Key).ConfigureAwait(false);
        }
    }
}
