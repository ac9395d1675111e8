namespace Packages.Web.Upstream;

/// <summary>
/// Where the bug tracker is: fixed by <c>Upstream:Url</c>, or known once the embedded simulator has started
/// (requests that arrive before that wait for it rather than fail).
/// </summary>
public sealed class UpstreamLocation
{
    private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates a location that is known now, or later through <see cref="Set"/>.</summary>
    /// <param name="address">The configured address; <see langword="null"/> when the embedded simulator will provide it.</param>
    public UpstreamLocation(Uri? address)
    {
        IsEmbedded = address is null;
        if (address is not null)
        {
            _address.SetResult(address);
        }
    }

    /// <summary>Whether the simulator runs inside this process.</summary>
    public bool IsEmbedded { get; }

    /// <summary>The address, when known.</summary>
    public Uri? Address => _address.Task.IsCompletedSuccessfully ? _address.Task.Result : null;

    /// <summary>Waits for the address.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The base address, ending in a slash.</returns>
    public Task<Uri> GetAsync(CancellationToken cancellationToken) => _address.Task.WaitAsync(cancellationToken);

    internal void Set(Uri address) => _address.TrySetResult(address);

    internal void Fail(Exception error) => _address.TrySetException(error);
}
