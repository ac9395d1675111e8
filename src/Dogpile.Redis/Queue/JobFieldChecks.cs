using System.Diagnostics;
using System.Globalization;

namespace Dogpile.Redis;

/// <summary>
/// The checks a queued job's fields pass before the worker looks up its region or takes any lock: every field an
/// enqueue writes is present and in the form the enqueue writes it. Anything else is dead-lettered with the reason.
/// </summary>
internal static class JobFieldChecks
{
    /// <summary>A version-00 traceparent is 55 characters; later versions may append fields, within this bound.</summary>
    public const int MaxTraceParentLength = 128;

    /// <summary>W3C: a tracestate of up to 512 characters must be propagated; longer ones are not written by an enqueue.</summary>
    public const int MaxTraceStateLength = 512;

    /// <summary>Checks the fields an enqueue writes, without the regions: what every job must carry, in the form the enqueue writes it.</summary>
    public static string? Validate(Dictionary<string, string> fields, int maxArgumentsSize, out byte[] arguments, out long fence, out long? enqueuedMs)
    {
        arguments = [];
        fence = 0;
        enqueuedMs = null;
        foreach (string required in (ReadOnlySpan<string>)[JobFields.Job, JobFields.Region, JobFields.Function, JobFields.BackendKey])
        {
            if (string.IsNullOrEmpty(fields.GetValueOrDefault(required)))
            {
                return $"missing field '{required}'";
            }
        }

        // Empty arguments are a value the serializer judges; a missing field is not.
        if (!fields.TryGetValue(JobFields.Arguments, out string? encoded))
        {
            return $"missing field '{JobFields.Arguments}'";
        }

        long size = (long)encoded.Length * 3 / 4;
        if (size > maxArgumentsSize)
        {
            return $"the arguments are about {size} bytes, over the limit of {maxArgumentsSize} (RedisRefreshWorkerOptions.MaxArgumentsSize)";
        }

        var buffer = new byte[(encoded.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(encoded, buffer, out int written))
        {
            return "the arguments are not valid base64";
        }

        arguments = buffer.AsSpan(0, written).ToArray();
        string token = fields.GetValueOrDefault(JobFields.Token, "");
        if (token.Length > 0 && !IsLockToken(token))
        {
            return $"the lock token '{Shorten(token)}' is not one a lock provider issues";
        }

        if (fields.TryGetValue(JobFields.Fence, out string? fenceText) && fenceText.Length > 0)
        {
            if (!long.TryParse(fenceText, NumberStyles.None, CultureInfo.InvariantCulture, out fence))
            {
                return $"the fence '{Shorten(fenceText)}' is not a number (a non-negative integer)";
            }
        }
        else if (token.Length > 0)
        {
            // The enqueue writes both or neither: a token without its fence could not be fenced.
            return "the job carries a lock token but no fence";
        }

        if (fence != 0 && token.Length == 0)
        {
            return $"the job carries a fence ({fence}) but no lock token";
        }

        if (fields.TryGetValue(JobFields.EnqueuedAt, out string? enqueuedText) && enqueuedText.Length > 0)
        {
            if (!long.TryParse(enqueuedText, NumberStyles.None, CultureInfo.InvariantCulture, out long ms)
                || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                return $"enqueuedAt '{Shorten(enqueuedText)}' is not a time in Unix milliseconds";
            }

            enqueuedMs = ms;
        }

        return CheckTraceContext(fields);
    }

    /// <summary>The trace context the worker's span continues: the optional fields, bounded and well formed.</summary>
    public static ActivityContext TraceContext(Dictionary<string, string> fields)
        => fields.TryGetValue(JobFields.TraceParent, out string? traceParent)
            && traceParent.Length is > 0 and <= MaxTraceParentLength
            && ActivityContext.TryParse(traceParent, fields.GetValueOrDefault(JobFields.TraceState), isRemote: true, out ActivityContext context)
                ? context
                : default;

    private static string? CheckTraceContext(Dictionary<string, string> fields)
    {
        string traceParent = fields.GetValueOrDefault(JobFields.TraceParent, "");
        string traceState = fields.GetValueOrDefault(JobFields.TraceState, "");
        if (traceParent.Length == 0)
        {
            return traceState.Length == 0 ? null : "the job carries a tracestate but no traceparent";
        }

        if (traceParent.Length > MaxTraceParentLength)
        {
            return $"the traceparent is {traceParent.Length} characters, over the limit of {MaxTraceParentLength}";
        }

        if (traceState.Length > MaxTraceStateLength)
        {
            return $"the tracestate is {traceState.Length} characters, over the limit of {MaxTraceStateLength}";
        }

        return ActivityContext.TryParse(traceParent, null, isRemote: true, out _)
            ? null
            : $"the traceparent '{Shorten(traceParent)}' is not a W3C trace context";
    }

    /// <summary>Lock tokens are short runs of URL-safe characters (Dogpile's are hex); anything else was not written by an enqueue.</summary>
    private static bool IsLockToken(string token)
    {
        if (token.Length > 128)
        {
            return false;
        }

        foreach (char c in token)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '/' or '='))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Values quoted in reasons are shortened: the dead-letter entry keeps the fields whole.</summary>
    public static string Shorten(string value) => value.Length <= 120 ? value : string.Concat(value.AsSpan(0, 117), "...");
}
