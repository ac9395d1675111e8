namespace Dogpile;

/// <summary>
/// Shares region-wide invalidation between processes. Without one, <see cref="CacheRegion.InvalidateAsync"/>
/// affects only the calling process (as in Python dogpile.cache).
/// </summary>
public interface IInvalidationStore
{
    /// <summary>Records an invalidation so that every process sees it.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="invalidation">The new marks; stores keep the later of old and new per mark.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the invalidation is stored.</returns>
    ValueTask PublishAsync(string regionName, RegionInvalidation invalidation, CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="onChanged"/> with the stored marks now (once loaded) and whenever they change.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="onChanged">The callback; it must be cheap and must not throw.</param>
    /// <returns>Stops the subscription when disposed.</returns>
    IDisposable Subscribe(string regionName, Action<RegionInvalidation> onChanged);

    /// <summary>
    /// Records a tag's invalidation so that every process sees it (<see cref="CacheRegion.InvalidateTagAsync"/>). The
    /// default does nothing: a store that does not implement it shares region marks only, and tags stay process-local.
    /// </summary>
    /// <param name="regionName">The region.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="invalidation">The tag's new marks; stores keep the later of old and new per mark.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the invalidation is stored.</returns>
    ValueTask PublishTagAsync(string regionName, string tag, RegionInvalidation invalidation, CancellationToken cancellationToken)
        => ValueTask.CompletedTask;

    /// <summary>
    /// Calls <paramref name="onChanged"/> with every stored tag mark of the region now (once loaded), whenever a tag's
    /// marks change, and again after the store reconnects. The default never calls it.
    /// </summary>
    /// <param name="regionName">The region.</param>
    /// <param name="onChanged">The callback (tag, marks); it must be cheap and must not throw.</param>
    /// <returns>Stops the subscription when disposed.</returns>
    IDisposable SubscribeTags(string regionName, Action<string, RegionInvalidation> onChanged) => NoSubscription.Instance;
}
