using System.Globalization;
using Dogpile;

namespace Packages.Web.Endpoints;

/// <summary>Tells the client how a response was served: <c>X-Cache: hit|stale|miss</c> and <c>Age</c> in whole seconds.</summary>
internal static class CacheHeaders
{
    public const string XCache = "X-Cache";

    public static void Set<T>(HttpResponse response, CacheItem<T> item)
    {
        response.Headers[XCache] = Name(item.Source);
        response.Headers.Age = ((long)item.Age.TotalSeconds).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A failed miss: nothing was cached, so there is no age to give.</summary>
    public static void SetMiss(HttpResponse response) => response.Headers[XCache] = "miss";

    public static string Name(CacheItemSource source) => source switch
    {
        CacheItemSource.Hit => "hit",
        CacheItemSource.Stale => "stale",
        _ => "miss",
    };
}
