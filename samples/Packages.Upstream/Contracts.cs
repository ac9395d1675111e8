using Packages.Upstream.Data;

namespace Packages.Upstream;

// Wire shapes. Minimal APIs serialize with the web defaults (camelCase properties, dictionary keys untouched),
// which gives exactly {"package", "bugs": [{"id", "summary", "status"}]} and keeps package names as spelled.

internal sealed record BugsResponse(string Package, IReadOnlyList<Bug> Bugs);

internal sealed record PackagesResponse(IEnumerable<string> Packages);

internal sealed record StatsResponse(long Total, IReadOnlyDictionary<string, long> Calls);

internal sealed record EndpointStatsResponse(long Bugs, long Info, long Bug);

internal sealed record FaultRequest(string? Mode, int? DelayMs);

internal sealed record FaultResponse(string Mode, int DelayMs);

internal sealed record ErrorResponse(string Error);
