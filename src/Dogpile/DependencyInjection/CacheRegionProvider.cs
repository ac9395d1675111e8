namespace Dogpile;

/// <summary>Hands out the named regions registered with <c>AddDogpile().AddRegion(...)</c>.</summary>
public interface ICacheRegionProvider
{
    /// <summary>The names of the registered regions.</summary>
    IReadOnlyCollection<string> RegionNames { get; }

    /// <summary>The region of that name, built on first use from its options.</summary>
    /// <param name="name">The region's name.</param>
    /// <returns>The region.</returns>
    /// <exception cref="ArgumentException">No region of that name is registered, or its options are invalid.</exception>
    CacheRegion GetRegion(string name);
}
