namespace Packages.Upstream.Data;

/// <summary>
/// A package's overview as the package database reports it; serialized camelCase. Generated from the name and the
/// catalog's seed, so it is as deterministic as the bugs.
/// </summary>
internal sealed record PackageInfo(
    string Name,
    string Summary,
    string Description,
    string Homepage,
    string License,
    string Maintainer,
    string Version,
    int BugCount);

/// <summary>One bug with the package it belongs to, as <c>GET /bug/{id}</c> answers.</summary>
internal sealed record BugDetail(int Id, string Package, string Summary, string Status, string Component, string Reported);
