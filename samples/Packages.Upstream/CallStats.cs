using Packages.Upstream.Data;

namespace Packages.Upstream;

/// <summary>
/// Calls to <c>/bugs</c> per known package. One counter slot per package, bumped with Interlocked, so concurrent
/// requests never lose a count and unknown names cannot grow the table.
/// </summary>
internal sealed class CallStats(BugCatalog catalog)
{
    private readonly long[] _calls = new long[catalog.PackageNames.Count];

    private long _infoCalls;
    private long _bugCalls;

    public void Record(int packageIndex) => Interlocked.Increment(ref _calls[packageIndex]);

    /// <summary>Calls to <c>/packages/{name}</c> (the overview), all packages together.</summary>
    public long InfoCalls => Interlocked.Read(ref _infoCalls);

    /// <summary>Calls to <c>/bug/{id}</c>, all bugs together.</summary>
    public long BugCalls => Interlocked.Read(ref _bugCalls);

    public void RecordInfo() => Interlocked.Increment(ref _infoCalls);

    public void RecordBug() => Interlocked.Increment(ref _bugCalls);

    public void Reset()
    {
        Interlocked.Exchange(ref _infoCalls, 0);
        Interlocked.Exchange(ref _bugCalls, 0);
        for (var i = 0; i < _calls.Length; i++)
        {
            Interlocked.Exchange(ref _calls[i], 0);
        }
    }

    /// <summary>Packages called at least once, by name (ordinal), so the JSON is stable.</summary>
    public SortedDictionary<string, long> Snapshot()
    {
        var snapshot = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < _calls.Length; i++)
        {
            var count = Interlocked.Read(ref _calls[i]);
            if (count > 0)
            {
                snapshot[catalog.PackageNames[i]] = count;
            }
        }

        return snapshot;
    }
}
