using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Pkgwat;

/// <summary>How the app's cache served an answer, from its <c>X-Cache*</c> and <c>Age</c> headers; each is null when not sent.</summary>
internal sealed record CacheInfo(
    string? State,
    string? XCache,
    string? Region,
    long? AgeSeconds,
    string? Created,
    long? WaitedMs,
    string? FetchedBy,
    string? FailingSince)
{
    public bool IsEmpty => State is null && XCache is null && Region is null && AgeSeconds is null;

    public static CacheInfo From(HttpResponseHeaders headers)
    {
        string? Header(string name) =>
            headers.TryGetValues(name, out var values) && values.FirstOrDefault()?.Trim() is { Length: > 0 } value ? Clean(value) : null;

        long? Number(string name) =>
            long.TryParse(Header(name), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

        return new CacheInfo(
            Header("X-Cache-State"),
            Header("X-Cache"),
            Header("X-Cache-Region"),
            headers.Age is { } age ? (long)age.TotalSeconds : null,
            Header("X-Cache-Created"),
            Number("X-Cache-Waited-Ms"),
            Header("X-Cache-Fetched-By"),
            Header("X-Cache-Failing-Since"));
    }

    /// <summary><c>served: fresh, age 12s</c>, <c>served: miss, waited 61 ms, fetched by this request</c>; only what the app told us.</summary>
    public string Describe()
    {
        var text = new StringBuilder("served: ").Append(State ?? XCache ?? "unknown");
        if (AgeSeconds is { } age && State != "miss")
        {
            text.Append(CultureInfo.InvariantCulture, $", age {age}s");
        }

        if (WaitedMs is { } waited)
        {
            text.Append(CultureInfo.InvariantCulture, $", waited {waited} ms");
        }

        if (FetchedBy is { } by)
        {
            text.Append(", fetched by ").Append(by.Replace('-', ' '));
        }

        if (FailingSince is { } since)
        {
            text.Append(", tracker failing since ").Append(since);
        }

        if (Region is { } region)
        {
            text.Append(" (region ").Append(region).Append(')');
        }

        return text.ToString();
    }

    /// <summary>Text from the server goes to a terminal: control characters (escape sequences, newlines) become spaces.</summary>
    internal static string Clean(string text) =>
        text.Any(char.IsControl) ? new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray()) : text;
}
