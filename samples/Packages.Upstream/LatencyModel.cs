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

    /// <summary>The package database's overview query: <c>400 ms × scale</c>, whatever the package.</summary>
    public static TimeSpan ForInfo(double scale) => TimeSpan.FromMilliseconds(400) * scale;

    /// <summary>One bug by id: <c>200 ms × scale</c>.</summary>
    public static TimeSpan ForBug(double scale) => TimeSpan.FromMilliseconds(200) * scale;
}
