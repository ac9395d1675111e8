using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Packages.Web.Upstream;

namespace Packages.Web.Caching;

/// <summary>
/// What the cache badges need to know beyond <c>CacheItem</c>: whether a miss's tracker call ran in this request or
/// in another one it waited for, and whether the latest tracker call for a key failed (so a stale copy is served
/// because the tracker is failing, not just because it is old). It wraps each cached function's creator; only the
/// public API of the regions is involved.
/// </summary>
public sealed class FetchTracker
{
    // A request in flight can't grow this past the keys it touches, but arbitrary failing keys could: cap it.
    private const int MaxFailingKeys = 10_000;

    private static readonly AsyncLocal<StrongBox<bool>?> s_fetchedHere = new();

    private readonly ConcurrentDictionary<string, DateTimeOffset> _failingSince = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates a tracker on the app's clock.</summary>
    /// <param name="time">The clock failures are stamped with.</param>
    public FetchTracker(TimeProvider time) => _time = time;

    /// <summary>
    /// Marks the current async flow (one lookup): a creator that runs beneath it sets the returned box. Call it in
    /// the async method that awaits the lookup, so the mark flows into the creator and not back out to the caller.
    /// </summary>
    /// <returns>True once a creator ran for this flow.</returns>
    internal static StrongBox<bool> Begin()
    {
        var box = new StrongBox<bool>();
        s_fetchedHere.Value = box;
        return box;
    }

    /// <summary>Wraps a creator so that its calls are marked and its failures remembered per key.</summary>
    internal Func<TArg, CancellationToken, ValueTask<T>> Wrap<TArg, T>(string region, Func<TArg, CancellationToken, ValueTask<T>> creator)
        where TArg : notnull =>
        async (argument, cancellationToken) =>
        {
            if (s_fetchedHere.Value is { } box)
            {
                box.Value = true;
            }

            var key = Key(region, argument.ToString() ?? "");
            try
            {
                var value = await creator(argument, cancellationToken);
                _failingSince.TryRemove(key, out _);
                return value;
            }
            catch (UpstreamException)
            {
                if (_failingSince.Count >= MaxFailingKeys)
                {
                    _failingSince.Clear();
                }

                _failingSince.TryAdd(key, _time.GetUtcNow());
                throw;
            }
        };

    /// <summary>When the tracker started failing for this key, if its latest call failed.</summary>
    /// <param name="region">The region.</param>
    /// <param name="argument">The cached function's argument.</param>
    /// <returns>The first failure of the current streak, or null.</returns>
    public DateTimeOffset? FailingSince(string region, string argument) =>
        _failingSince.TryGetValue(Key(region, argument), out var since) ? since : null;

    /// <summary>Keys whose latest tracker call failed.</summary>
    public int FailingKeys => _failingSince.Count;

    private static string Key(string region, string argument) => region + "\n" + argument;
}
