namespace Packages.Upstream;

/// <summary>
/// How long the tracker takes to answer: the seed story's pain was that big bug lists (kernel) were far slower
/// than small ones, so latency grows linearly with the number of bugs.
/// </summary>
internal static class LatencyModel
{
    public static readonly TimeSpan Base = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan PerFullList = TimeSpan.FromMilliseconds(2900);

    /// <summary><c>(100 ms + 2900 ms × bugs / maxBugs) × scale</c>: kernel about 3 s, a one-bug package about 100 ms.</summary>
    public static TimeSpan For(int bugCount, int maxBugCount, double scale)
    {
        var share = maxBugCount == 0 ? 0 : (double)bugCount / maxBugCount;
        return (Base + PerFullList * share) * scale;
    }
}
