using System.Net;
using System.Runtime;
using Dogpile;

namespace Packages.Web.Endpoints;

/// <summary>
/// <c>GET /diagnostics/memory</c>: the managed heap after a full, compacting GC, for the soak benchmark
/// (bench/Dogpile.Soak), which cannot read it from outside the process. Mapped only when <c>Diagnostics:Enabled</c>
/// is true, and answered only to loopback callers: forcing a full GC on demand would let anyone stall the app.
/// </summary>
internal static class DiagnosticsEndpoints
{
    /// <summary>The setting that maps the endpoint (default false: not mapped, so the address is a 404).</summary>
    public const string EnabledKey = "Diagnostics:Enabled";

    public static IEndpointRouteBuilder MapDiagnostics(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool>(EnabledKey))
        {
            app.MapGet("/diagnostics/memory", GetMemory);
        }

        return app;
    }

    internal static IResult GetMemory(HttpContext context, ICacheRegionProvider regions)
    {
        if (!IsLoopback(context.Connection.RemoteIpAddress))
        {
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }

        // Blocking and compacting, the large-object heap included (kernel's bug list is a large object), twice around
        // the finalizers: what remains is what the app holds, not garbage that a lazier GC has not yet reclaimed.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);

        return Results.Json(new
        {
            heapAfterGcBytes = GC.GetTotalMemory(forceFullCollection: false),
            heapSizeBytes = info.HeapSizeBytes,
            fragmentedBytes = info.FragmentedBytes,
            committedBytes = info.TotalCommittedBytes,
            gen2Collections = GC.CollectionCount(2),
            totalAllocatedBytes = GC.GetTotalAllocatedBytes(precise: false),

            // Entries held in this process; null where the values live elsewhere (redis, memcached).
            regions = regions.RegionNames.Order(StringComparer.Ordinal).Select(name => new
            {
                name,
                entries = regions.GetRegion(name).Backend is MemoryCacheBackend memory ? memory.Count : (int?)null,
            }),
        });
    }

    private static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
