namespace Dogpile;

/// <summary>
/// A shared backend that tells every process about changes: each write or removal of a key, by any process, is
/// announced to the observers in every other process. Regions use it to keep their near cache coherent
/// (see <see cref="NearCacheOptions"/>).
/// </summary>
public interface ICacheChangeFeed
{
    /// <summary>Starts delivering changes to <paramref name="observer"/>.</summary>
    /// <param name="observer">Receives changes made by other processes, and the feed's interruptions.</param>
    /// <returns>Stops the delivery when disposed.</returns>
    IDisposable Subscribe(ICacheChangeObserver observer);
}
