namespace Packages.Upstream.Data;

/// <summary>One bug as the tracker reports it; serialized camelCase: <c>{"id", "summary", "status"}</c>.</summary>
internal sealed record Bug(int Id, string Summary, string Status);
