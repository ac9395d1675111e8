namespace Dogpile;

/// <summary>The subscription of a store that shares no tags.</summary>
internal sealed class NoSubscription : IDisposable
{
    public static readonly NoSubscription Instance = new();

    public void Dispose()
    {
    }
}
