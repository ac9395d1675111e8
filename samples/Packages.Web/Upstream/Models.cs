using System.Text.Json;

namespace Packages.Web.Upstream;

/// <summary>One bug as the tracker reports it.</summary>
/// <param name="Id">The bug number.</param>
/// <param name="Summary">One line.</param>
/// <param name="Status">NEW, ASSIGNED, ...</param>
public sealed record Bug(long Id, string Summary, string Status);

/// <summary>A package's bug list, or the tracker's answer that it has no such package.</summary>
/// <remarks>
/// "No such package" is cached like any answer (and expires like one), so an unknown name costs one upstream
/// call per expiry window instead of one per request, and a package created later shows up within an expiry.
/// Only failures (5xx, invalid JSON, timeouts) are exceptions, which the region never stores.
/// </remarks>
/// <param name="Package">The package name.</param>
/// <param name="Exists">False when the tracker answered 404.</param>
/// <param name="Bugs">The bugs; empty when the package does not exist.</param>
public sealed record BugList(string Package, bool Exists, IReadOnlyList<Bug> Bugs)
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    // The API answer, serialized once per cached value: the memory backend hands every hit the same instance, so
    // kernel's 150 KB of JSON is not rebuilt per request. Not a property, so it is never part of the stored form.
    private byte[]? _responseJson;

    /// <summary>The tracker's answer for an unknown package.</summary>
    /// <param name="package">The name asked for.</param>
    /// <returns>A list that says so.</returns>
    public static BugList NotFound(string package) => new(package, false, []);

    /// <summary>The tracker's own shape, <c>{"package": "...", "bugs": [{"id", "summary", "status"}]}</c>, as UTF-8 JSON.</summary>
    /// <returns>The bytes; the same array on every call (do not modify it).</returns>
    internal byte[] ToResponseJson() =>
        _responseJson ??= JsonSerializer.SerializeToUtf8Bytes(new { package = Package, bugs = Bugs }, WebJson);
}

/// <summary>Every package name the tracker knows, in its order.</summary>
/// <param name="Names">The names.</param>
public sealed record PackageIndex(IReadOnlyList<string> Names)
{
    /// <summary>The names containing <paramref name="text"/>, ignoring case, as the tracker's own search does.</summary>
    /// <param name="text">The search text; empty matches everything.</param>
    /// <returns>The matching names.</returns>
    public IReadOnlyList<string> Search(string? text) => string.IsNullOrEmpty(text)
        ? Names
        : Names.Where(n => n.Contains(text, StringComparison.OrdinalIgnoreCase)).ToList();
}

/// <summary>A package's overview from the package database, or its answer that there is no such package.</summary>
/// <param name="Name">The package name.</param>
/// <param name="Exists">False when the tracker answered 404.</param>
/// <param name="Summary">One line.</param>
/// <param name="Description">A paragraph.</param>
/// <param name="Homepage">The upstream project's address.</param>
/// <param name="License">SPDX expression.</param>
/// <param name="Maintainer">The main maintainer's account.</param>
/// <param name="Version">The current version.</param>
public sealed record PackageInfo(string Name, bool Exists, string Summary, string Description, string Homepage, string License, string Maintainer, string Version)
{
    /// <summary>The tracker's answer for an unknown package.</summary>
    /// <param name="name">The name asked for.</param>
    /// <returns>An overview that says so.</returns>
    public static PackageInfo NotFound(string name) => new(name, false, "", "", "", "", "", "");
}

/// <summary>One bug with its package, or the tracker's answer that there is no such bug.</summary>
/// <param name="Id">The bug number.</param>
/// <param name="Exists">False when the tracker answered 404.</param>
/// <param name="Package">The package it is filed against.</param>
/// <param name="Summary">One line.</param>
/// <param name="Status">NEW, ASSIGNED, ...</param>
/// <param name="Reported">The day it was filed, yyyy-MM-dd.</param>
public sealed record BugDetail(long Id, bool Exists, string Package, string Summary, string Status, string Reported)
{
    /// <summary>The tracker's answer for an unknown bug.</summary>
    /// <param name="id">The id asked for.</param>
    /// <returns>A bug that says so.</returns>
    public static BugDetail NotFound(long id) => new(id, false, "", "", "", "");
}

/// <summary>Bugzilla's statuses as open or closed, and the filters the bug pages offer.</summary>
public static class BugStatus
{
    /// <summary>Statuses in workflow order, for the overview's counts.</summary>
    public static readonly IReadOnlyList<string> All = ["NEW", "ASSIGNED", "POST", "MODIFIED", "ON_QA", "VERIFIED", "CLOSED"];

    /// <summary>Whether a bug with this status is still open: fixed-and-verified and closed bugs are not.</summary>
    /// <param name="status">A status.</param>
    /// <returns>True for NEW, ASSIGNED, POST, MODIFIED, ON_QA and anything unknown.</returns>
    public static bool IsOpen(string status) => status is not ("CLOSED" or "VERIFIED");

    /// <summary>Whether the bug passes the filter <c>open</c>, <c>closed</c> or <c>all</c>.</summary>
    /// <param name="filter">A valid filter.</param>
    /// <param name="status">The bug's status.</param>
    /// <returns>Whether it is listed.</returns>
    public static bool Matches(string filter, string status) => filter switch
    {
        "open" => IsOpen(status),
        "closed" => !IsOpen(status),
        _ => true,
    };

    /// <summary>The filters, in the order the pages show them.</summary>
    public static readonly IReadOnlyList<string> Filters = ["open", "closed", "all"];
}
