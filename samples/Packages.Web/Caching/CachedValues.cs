using System.Text.Json;
using Dogpile;
using Packages.Web.Upstream;

namespace Packages.Web.Caching;

/// <summary>
/// What a value read back from a shared cache (redis, memcached) must be before it is served. The store holds bytes
/// that another build, another writer or anyone with access may have put there, so a payload is checked twice: the
/// strict <see cref="Serializer"/> refuses JSON that leaves out or nulls a member the models require, and each
/// region's <see cref="CacheRegionOptions.ValueValidator"/> refuses what parses but is not a value the tracker client
/// would ever create. Either way the entry is an unreadable miss (logged, counted in
/// <c>dogpile_unreadable_entries_total</c>) and the value is fetched again, never served.
/// </summary>
internal static class CachedValues
{
    /// <summary>
    /// The default cache serializer (web defaults plus fields) made strict: every constructor parameter of a record
    /// must be present and a non-nullable member cannot be <c>null</c>, so <c>{}</c> or <c>"summary": null</c> fail
    /// to parse. Collection items are not covered by nullable annotations; the validators check those.
    /// </summary>
    public static ICacheSerializer Serializer { get; } = new SystemTextJsonCacheSerializer(
        new JsonSerializerOptions(SystemTextJsonCacheSerializer.DefaultOptions)
        {
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
        });

    /// <summary>
    /// The bugs region's validator: a <see cref="BugList"/> for a valid package name, whose bugs are all present and
    /// complete; a "no such package" answer has no bugs (the client never builds one with bugs).
    /// </summary>
    /// <param name="value">The decoded value.</param>
    /// <returns>Whether it may be served.</returns>
    public static bool IsValidBugList(object? value) =>
        value is BugList { Package: { } package, Bugs: { } bugs } list
        && PackageName.IsValid(package)
        && (list.Exists || bugs.Count == 0)
        && bugs.All(static bug => bug is { Id: > 0, Summary: not null, Status: not null });

    /// <summary>The packages region's validator: a <see cref="PackageIndex"/> whose names are all present and non-empty.</summary>
    /// <param name="value">The decoded value.</param>
    /// <returns>Whether it may be served.</returns>
    public static bool IsValidPackageIndex(object? value) =>
        value is PackageIndex { Names: { } names } && names.All(static name => !string.IsNullOrEmpty(name));

    /// <summary>The info region's validator: an overview of a valid package name; a "no such package" answer is empty.</summary>
    /// <param name="value">The decoded value.</param>
    /// <returns>Whether it may be served.</returns>
    public static bool IsValidPackageInfo(object? value) =>
        value is PackageInfo { Name: { } name, Summary: not null, Description: not null, Homepage: not null, License: not null, Maintainer: not null, Version: not null } info
        && PackageName.IsValid(name)
        && (info.Exists || info.Summary.Length == 0);

    /// <summary>The bug region's validator: a positive id, and a package name when the bug exists.</summary>
    /// <param name="value">The decoded value.</param>
    /// <returns>Whether it may be served.</returns>
    public static bool IsValidBugDetail(object? value) =>
        value is BugDetail { Id: > 0, Package: { } package, Summary: not null, Status: not null, Reported: not null } bug
        && (bug.Exists ? PackageName.IsValid(package) : package.Length == 0);
}
