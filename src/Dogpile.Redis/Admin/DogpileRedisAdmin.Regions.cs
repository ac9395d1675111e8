using StackExchange.Redis;

namespace Dogpile.Redis;

// Regions: invalidating one (or a tag in it) everywhere, and whether Redis knows it.
public sealed partial class DogpileRedisAdmin
{
    /// <summary>
    /// Invalidates a region in every process that shares invalidations through this Redis (as
    /// <see cref="CacheRegion.InvalidateAsync"/> does): values created up to now count as missing (hard) or stale (soft).
    /// </summary>
    /// <param name="regionName">The region's name.</param>
    /// <param name="mode">Hard or soft.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mark published (this machine's clock: values the applications created before it are affected).</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisInvalidationResult> InvalidateRegionAsync(string regionName, InvalidationMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);
        DateTimeOffset now = _time.GetUtcNow();
        RegionInvalidation marks = mode == InvalidationMode.Hard ? new(now.UtcTicks, 0) : new(0, now.UtcTicks);
        await _redis.InvalidationStore.PublishAsync(regionName, marks, cancellationToken).ConfigureAwait(false);
        return new RedisInvalidationResult(regionName, mode, now);
    }

    /// <summary>
    /// Invalidates every value carrying <paramref name="tag"/> in a region, in every process that shares invalidations
    /// through this Redis (as <see cref="CacheRegion.InvalidateTagAsync"/> does).
    /// </summary>
    /// <param name="regionName">The region's name.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="mode">Hard or soft.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mark published (this machine's clock: tagged values the applications created before it are affected).</returns>
    /// <exception cref="ArgumentException">The tag is not valid (see <see cref="CacheEntryOptions.Tags"/>).</exception>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<RedisInvalidationResult> InvalidateTagAsync(string regionName, string tag, InvalidationMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);

        // The entry options hold the one definition of a valid tag.
        _ = new CacheEntryOptions { Tags = [tag] };
        DateTimeOffset now = _time.GetUtcNow();
        RegionInvalidation marks = mode == InvalidationMode.Hard ? new(now.UtcTicks, 0) : new(0, now.UtcTicks);
        await _redis.InvalidationStore.PublishTagAsync(regionName, tag, marks, cancellationToken).ConfigureAwait(false);
        return new RedisInvalidationResult(regionName, mode, now);
    }

    /// <summary>
    /// Whether Redis has any trace of a region: its invalidation record, or a value under its key prefix (a
    /// <c>SCAN</c> that stops at the first). Guards against acting on a misspelt region name.
    /// </summary>
    /// <param name="regionName">The region's name.</param>
    /// <param name="keyPrefix">The region's key prefix (<c>{region name}:</c> unless the application set another).</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>Whether the region is known.</returns>
    /// <exception cref="DogpileRedisUnavailableException">Redis did not answer in time.</exception>
    public async ValueTask<bool> RegionIsKnownAsync(string regionName, string keyPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        if (await _connection.RunAsync(db => db.KeyExistsAsync([_keys.Invalidation(regionName), _keys.TagInvalidation(regionName)]), "EXISTS", cancellationToken).ConfigureAwait(false) > 0)
        {
            return true;
        }

        string pattern = string.Concat(EscapeGlob(_keys.Prefix), ":{", EscapeGlob(keyPrefix), "*}:v");
        await foreach (RedisKey _ in ScanAsync(pattern, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }
}
