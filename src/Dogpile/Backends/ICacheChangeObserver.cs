namespace Dogpile;

/// <summary>Receives an <see cref="ICacheChangeFeed"/>'s notices. Called on the feed's threads: return quickly, never throw.</summary>
public interface ICacheChangeObserver
{
    /// <summary>Another process wrote or removed the key.</summary>
    /// <param name="key">The backend key (as the region passed it to the backend).</param>
    /// <param name="entry">
    /// The entry now stored under the key, when the notice carries it (a write of a small value); <see langword="null"/>
    /// for a removal, or when the notice does not carry it.
    /// </param>
    void OnChanged(string key, CacheEntry? entry);

    /// <summary>The feed stopped: changes from now on may go unannounced until <see cref="OnResumed"/>.</summary>
    void OnInterrupted();

    /// <summary>The feed delivers again; changes made while it was interrupted may have been missed.</summary>
    void OnResumed();
}
